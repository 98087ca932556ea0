import { gunzipSync } from 'node:zlib';
import type { DecodeTgsTask, DecodeTgsResult, LottieInfo } from '../messages.js';

const MAX_FRAME_RATE = 240;
// Real stickers have tens of layers; tens of thousands make a single frame take seconds.
const MAX_LAYERS = 5000;

/** gunzip with a hard output cap, parse, and check the fields every Lottie player needs. Never throws. */
export function decodeTgs(task: DecodeTgsTask): DecodeTgsResult {
  const { data } = task;
  const fail = (reason: Extract<DecodeTgsResult, { ok: false }>['reason'], detail: string): DecodeTgsResult => ({
    ok: false,
    reason,
    detail,
    gzip: data,
  });
  let raw: Buffer;
  try {
    raw = gunzipSync(data, { maxOutputLength: task.maxLottieBytes });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') return fail('too-large', `decompressed data exceeds ${task.maxLottieBytes} bytes`);
    if (code === 'Z_BUF_ERROR') return fail('truncated', 'gzip stream is incomplete');
    return fail('not-gzip', 'not valid gzip data');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    return fail('not-json', 'decompressed data is not JSON');
  }
  const info = lottieInfo(doc, raw.length, task);
  if (typeof info === 'string') return fail('not-lottie', info);
  return task.wantJson ? { ok: true, info, json: raw, gzip: data } : { ok: true, info, gzip: data };
}

function num(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function lottieInfo(doc: unknown, jsonBytes: number, limits: { maxDimension: number; maxFrames: number }): LottieInfo | string {
  const MAX_DIMENSION = limits.maxDimension;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'Lottie JSON must be an object';
  const d = doc as Record<string, unknown>;
  for (const key of ['w', 'h', 'fr', 'ip', 'op'] as const) {
    if (!num(d[key])) return `Lottie field "${key}" is missing or not a number`;
  }
  if (!Array.isArray(d.layers)) return 'Lottie field "layers" is missing or not an array';
  const [w, h, fr, ip, op] = [d.w, d.h, d.fr, d.ip, d.op] as number[];
  if (w <= 0 || h <= 0 || w > MAX_DIMENSION || h > MAX_DIMENSION) return `Lottie size ${w}x${h} is outside 1..${MAX_DIMENSION}`;
  if (fr <= 0 || fr > MAX_FRAME_RATE) return `Lottie frame rate ${fr} is outside (0, ${MAX_FRAME_RATE}]`;
  if (op <= ip) return `Lottie out-point ${op} is not after in-point ${ip}`;
  if (op - ip > limits.maxFrames) return `the animation has ${Math.ceil(op - ip)} frames; at most ${limits.maxFrames} are accepted`;
  const layers = countLayers(d);
  if (layers > MAX_LAYERS) return `the animation has ${layers} layers; at most ${MAX_LAYERS} are accepted`;
  return {
    width: w,
    height: h,
    frameRate: fr,
    inPoint: ip,
    outPoint: op,
    frames: Math.ceil(op - ip),
    layers,
    jsonBytes,
  };
}

/** Layers of the main composition and of every precomposition asset. */
function countLayers(d: Record<string, unknown>): number {
  let n = (d.layers as unknown[]).length;
  if (Array.isArray(d.assets)) for (const a of d.assets) if (a && Array.isArray((a as { layers?: unknown }).layers)) n += (a as { layers: unknown[] }).layers.length;
  return n;
}

import { gunzipSync, gzipSync } from 'node:zlib';
import type { DecodeTgsTask, DecodeTgsResult } from '../messages.js';
import type { LottieInfo } from '../../model/entry.js';
import { MAX_FRAME_RATE, MAX_LAYERS, MAX_PRECOMP_NESTING } from '../../limits.js';
import { mayBeUnsafe, stripUnsafe } from '../render/sanitize.js';

/**
 * gunzip with a hard output cap (or take the JSON as it is, for an upload), parse, check the fields every
 * Lottie player needs, and remove what a client's player must not be handed (expressions are JavaScript).
 * A document with nothing to remove keeps its gzip bytes as they came. Never throws.
 */
export function decodeTgs(task: DecodeTgsTask): DecodeTgsResult {
  const { data } = task;
  const fail = (reason: Extract<DecodeTgsResult, { ok: false }>['reason'], detail: string): DecodeTgsResult => ({
    ok: false,
    reason,
    detail,
    gzip: data,
  });
  let raw: Buffer;
  if (task.plainJson) {
    if (data.length > task.maxLottieBytes) return fail('too-large', `the Lottie JSON exceeds ${task.maxLottieBytes} bytes`);
    raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  } else {
    try {
      raw = gunzipSync(data, { maxOutputLength: task.maxLottieBytes });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') return fail('too-large', `decompressed data exceeds ${task.maxLottieBytes} bytes`);
      if (code === 'Z_BUF_ERROR') return fail('truncated', 'gzip stream is incomplete');
      return fail('not-gzip', 'not valid gzip data');
    }
  }
  const text = raw.toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return fail('not-json', task.plainJson ? 'the upload is not valid JSON' : 'decompressed data is not JSON');
  }
  const info = lottieInfo(doc, raw.length, task);
  if (typeof info === 'string') return fail('not-lottie', info);
  const removed = mayBeUnsafe(text) ? stripUnsafe(doc) : 0;
  if (removed === 0 && !task.plainJson) return task.wantJson ? { ok: true, info, json: raw, gzip: data, removed } : { ok: true, info, gzip: data, removed };
  const json = removed === 0 ? raw : Buffer.from(JSON.stringify(doc));
  const gzip = gzipSync(json, { level: 9 });
  return task.wantJson ? { ok: true, info, json, gzip, removed } : { ok: true, info, gzip, removed };
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
  if (typeof layers === 'string') return layers;
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

/**
 * Layers as the renderer will instantiate them: a precomposition layer brings all the layers of its asset
 * each time it is used, so a few small assets that use each other twice can stand for millions of layers.
 * A precomposition that contains itself (directly or through others) would never finish: refused by name.
 */
function countLayers(d: Record<string, unknown>): number | string {
  const assets = new Map<string, unknown[]>();
  if (Array.isArray(d.assets)) {
    for (const a of d.assets as Array<{ id?: unknown; layers?: unknown }>) if (a && typeof a.id === 'string' && Array.isArray(a.layers)) assets.set(a.id, a.layers);
  }
  const memo = new Map<string, number>();
  const open = new Set<string>();
  const count = (layers: unknown[], depth: number): number | string => {
    if (depth > MAX_PRECOMP_NESTING) return `precompositions are nested more than ${MAX_PRECOMP_NESTING} deep`;
    let n = 0;
    for (const l of layers as Array<{ ty?: unknown; refId?: unknown }>) {
      n++;
      if (!l || l.ty !== 0 || typeof l.refId !== 'string' || !assets.has(l.refId)) continue;
      const id = l.refId;
      if (open.has(id)) return `precomposition "${id.slice(0, 40)}" contains itself`;
      let inner = memo.get(id);
      if (inner === undefined) {
        open.add(id);
        const r = count(assets.get(id)!, depth + 1);
        open.delete(id);
        if (typeof r === 'string') return r;
        memo.set(id, (inner = r));
      }
      n += inner;
      if (n > MAX_LAYERS) return n; // enough to refuse; stop before the count itself gets large
    }
    return n;
  };
  return count(d.layers as unknown[], 0);
}

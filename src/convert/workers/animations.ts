import { Gunzip } from 'fflate';
import { workerData } from 'node:worker_threads';
import { RendererFailure } from '../render/dotlottie.js';
import { rendererNamed } from '../render/select.js';
import type { RendererName } from '../../config.js';
import { sanitizeLottie } from '../render/sanitize.js';
import type { CheckRendererResult, EncodeResult } from '../messages.js';
import type { LoadedAnimation, Renderer } from '../render/renderer.js';

// The thread's renderer, and the animations it keeps loaded between tasks.

// A few loaded animations per thread: clients that ask for frame after frame of one sticker skip the JSON
// parse and scene build, which cost most of a small PNG.
const LOADED_MAX = 4;
const loaded = new Map<string, LoadedAnimation>();

/** Returns an animation to the thread's cache, or destroys it when it is not cached. */
function release(anim: LoadedAnimation): void {
  for (const a of loaded.values()) if (a === anim) return;
  anim.destroy();
}

async function loadTgs(task: { gzip: Uint8Array; maxLottieBytes: number; width: number; height: number; cacheKey?: string }): Promise<LoadedAnimation | EncodeResult> {
  const key = task.cacheKey && `${task.cacheKey}|${task.width}x${task.height}`;
  const hit = key ? loaded.get(key) : undefined;
  if (hit && key) {
    loaded.delete(key); // most recently used goes last
    loaded.set(key, hit);
    return hit;
  }
  const anim = await loadFresh(task);
  if (key && !failed(anim)) {
    if (loaded.size >= LOADED_MAX) {
      const [oldKey, old] = loaded.entries().next().value!;
      loaded.delete(oldKey);
      old.destroy();
    }
    loaded.set(key, anim);
  }
  return anim;
}

let chosen: Renderer | undefined;

/** The pool's renderer (workerData.renderer); the service checked at start-up that it can load. */
const renderer = (): Renderer => (chosen ??= rendererNamed((workerData as { renderer?: RendererName } | undefined)?.renderer ?? 'dotlottie'));

/** gunzip, parse, strip expressions, load into the renderer: an animation, or the failure to report. */
async function loadFresh(task: { gzip: Uint8Array; maxLottieBytes: number; width: number; height: number }): Promise<LoadedAnimation | EncodeResult> {
  let json: string;
  try {
    json = sanitizeLottie(gunzipCapped(task.gzip, task.maxLottieBytes));
  } catch {
    return { ok: false, detail: 'the TGS could not be decompressed and parsed' };
  }
  try {
    return await renderer().load(json, task.width, task.height);
  } catch (err) {
    return { ok: false, detail: (err as Error).message, recycle: err instanceof RendererFailure };
  }
}

/**
 * Pure-JS gunzip (fflate) with an output cap. Render tasks can be stopped at their deadline by terminating
 * the thread, and Node aborts the whole process if that happens inside a native zlib call; JavaScript can
 * be interrupted anywhere. (The input was validated when the sticker was stored.)
 */
function gunzipCapped(gz: Uint8Array, max: number): string {
  const parts: Uint8Array[] = [];
  let size = 0;
  const g = new Gunzip((chunk) => {
    size += chunk.length;
    if (size > max) throw new Error(`decompressed data exceeds ${max} bytes`);
    parts.push(chunk);
  });
  g.push(gz, true);
  return Buffer.concat(parts, size).toString('utf8');
}

const failed = (x: LoadedAnimation | EncodeResult): x is EncodeResult => 'ok' in x;

type TgsTask = Parameters<typeof loadTgs>[0];

/** Loads (or reuses) the task's animation, runs fn with it and releases it; a failed load is the result. */
export async function withAnimation(task: TgsTask, fn: (anim: LoadedAnimation) => Promise<EncodeResult>): Promise<EncodeResult> {
  const anim = await loadTgs(task);
  if (failed(anim)) return anim;
  try {
    return await fn(anim);
  } finally {
    release(anim);
  }
}

export function checkRenderer(): CheckRendererResult {
  try {
    renderer();
    return { ok: true };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

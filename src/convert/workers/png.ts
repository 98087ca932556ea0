import { Gunzip } from 'fflate';
import sharp from 'sharp';
import { encodeApng } from './apng.js';
import { encodeGif } from './gif.js';
import { encodeAnimatedWebp } from './webp.js';
import { workerData } from 'node:worker_threads';
import { RendererFailure } from '../render/dotlottie.js';
import { rendererNamed } from '../render/select.js';
import type { RendererName } from '../../config.js';
import { sanitizeLottie } from '../render/sanitize.js';
import type { CheckRendererResult, EncodeResult, ImageInfoResult, ImageInfoTask, ImagePngTask, RenderAnimTask, RenderPngTask } from '../messages.js';
import type { LoadedAnimation, Renderer } from '../render/renderer.js';

// PNG is lossless, so effort only trades CPU for size: level 6 is zlib's balance. No adaptive filtering:
// on sticker frames it cost ~10 ms at 512 px and made files larger (46.8 vs 39.5 KB, BENCHMARKS.md).
const PNG_OPTIONS = { compressionLevel: 6 } as const;

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
async function withAnimation(task: TgsTask, fn: (anim: LoadedAnimation) => Promise<EncodeResult>): Promise<EncodeResult> {
  const anim = await loadTgs(task);
  if (failed(anim)) return anim;
  try {
    return await fn(anim);
  } finally {
    release(anim);
  }
}

const rgb = ([r, g, b]: [number, number, number]) => ({ r, g, b });

export function renderPng(task: RenderPngTask): Promise<EncodeResult> {
  return withAnimation(task, async (anim) => {
    if (task.frame >= anim.frames) return { ok: false, detail: `frame ${task.frame} is past the last frame (${anim.frames - 1})` };
    const rgba = Buffer.from(anim.frame(task.frame)); // a copy: the renderer reuses its buffer
    let img = sharp(rgba, { raw: { width: task.width, height: task.height, channels: 4 } });
    if (task.background) img = img.flatten({ background: rgb(task.background) });
    const data = await img.png(PNG_OPTIONS).toBuffer();
    return { ok: true, data, width: task.width, height: task.height, frames: 1 };
  });
}

export async function imagePng(task: ImagePngTask): Promise<EncodeResult> {
  try {
    // limitInputPixels guards against decompression bombs in image headers.
    let img = sharp(task.data, { pages: 1, limitInputPixels: 64 * 1024 * 1024 });
    if (task.size) img = img.resize(task.size, task.size, { fit: 'inside' });
    if (task.background) img = img.flatten({ background: rgb(task.background) });
    img = task.format === 'webp' ? img.webp({ quality: task.quality ?? 80, effort: 4 }) : task.format === 'gif' ? img.gif() : img.png(PNG_OPTIONS);
    const { data, info } = await img.toBuffer({ resolveWithObject: true });
    return { ok: true, data, width: info.width, height: info.height, frames: 1 };
  } catch (err) {
    return { ok: false, detail: `the image could not be converted: ${(err as Error).message}` };
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

export async function imageInfo(task: ImageInfoTask): Promise<ImageInfoResult> {
  try {
    const m = await sharp(task.data, { animated: true, limitInputPixels: 64 * 1024 * 1024 }).metadata();
    return { ok: true, width: m.width ?? 0, height: m.pageHeight ?? m.height ?? 0, frames: m.pages ?? 1, durationMs: m.delay ? m.delay.reduce((a, b) => a + b, 0) : undefined };
  } catch (err) {
    return { ok: false, detail: `the image could not be read: ${(err as Error).message}` };
  }
}

/**
 * Frame i of the output shows the source frame at time i / fps, and its delay is rounded so the delays add
 * up to the source's duration: playback speed equals the source's whatever fps is chosen.
 */
export function timeline(sourceFrames: number, sourceFps: number, fps: number, unitMs = 1): { frames: number[]; delays: number[] } {
  // Delays are whole units (1 ms for WebP, 10 ms for GIF); rounding the cumulative time, not each delay,
  // keeps the total exact.
  const duration = (sourceFrames / sourceFps) * (1000 / unitMs);
  const count = Math.max(1, Math.round((sourceFrames * fps) / sourceFps));
  const frames: number[] = [];
  const delays: number[] = [];
  for (let i = 0; i < count; i++) {
    frames.push(Math.min(sourceFrames - 1, Math.floor((i * sourceFps) / fps)));
    delays.push((Math.round(((i + 1) * duration) / count) - Math.round((i * duration) / count)) * unitMs);
  }
  return { frames, delays };
}

/** A whole TGS as an animated WebP, GIF or APNG, looping forever with the source's timing. */
export function renderAnimated(task: RenderAnimTask): Promise<EncodeResult> {
  return withAnimation(task, async (anim) => {
    // GIF delays are 10 ms units; WebP and APNG take milliseconds.
    const { frames, delays } = timeline(anim.frames, task.sourceFps, task.fps, task.format === 'gif' ? 10 : 1);
    // Frames are rendered one at a time and encoded as they come: a whole 1024 px animation held at once
    // would be gigabytes.
    const each = () => copiedFrames(anim, frames, task.background);
    const { data, frames: written } =
      task.format === 'gif'
        ? { data: encodeGif(each(), sampleFrames(anim, frames, task.background), task, delays), frames: frames.length }
        : task.format === 'apng'
          ? await encodeApng(each(), task.width, task.height, delays) // merges repeated frames too
          : await encodeAnimatedWebp(each(), delays, task); // merges repeated frames
    return { ok: true, data, width: task.width, height: task.height, frames: written, durationMs: delays.reduce((a, b) => a + b, 0) };
  });
}

/** Up to eight frames spread over the animation, one after another in one array: the GIF palette's sample. */
function sampleFrames(anim: LoadedAnimation, frames: number[], bg?: [number, number, number]): Uint8Array {
  const step = Math.max(1, Math.floor(frames.length / 8));
  const picked = frames.filter((_, i) => i % step === 0).slice(0, 8);
  const sample = new Uint8Array(picked.length * anim.width * anim.height * 4);
  [...copiedFrames(anim, picked, bg)].forEach((f, i) => sample.set(f, i * f.length));
  return sample;
}

/**
 * Each frame copied out of the renderer's buffer (which the next frame overwrites) into an array of its own
 * (gifenc's quantize reads its sample's buffer whole), flattened onto bg, made one at a time as the encoder
 * asks.
 */
function* copiedFrames(anim: LoadedAnimation, frames: number[], bg?: [number, number, number]): Generator<Uint8Array> {
  for (const k of frames) {
    const f = new Uint8Array(anim.frame(k));
    if (bg) flattenOnto(f, bg);
    yield f;
  }
}

/** Straight-alpha RGBA composited in place onto an opaque colour. */
function flattenOnto(px: Uint8Array, [r, g, b]: [number, number, number]): void {
  for (let i = 0; i < px.length; i += 4) {
    const a = px[i + 3] / 255;
    px[i] = px[i] * a + r * (1 - a);
    px[i + 1] = px[i + 1] * a + g * (1 - a);
    px[i + 2] = px[i + 2] * a + b * (1 - a);
    px[i + 3] = 255;
  }
}

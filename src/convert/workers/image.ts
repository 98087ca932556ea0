import sharp from 'sharp';
import type { EncodeResult, ImageInfoResult, ImageInfoTask, ImageTask } from '../messages.js';
import { PNG_OPTIONS, painted } from './libvips.js';
import { MAX_ANIMATION_PIXELS, MAX_INPUT_PIXELS } from '../../limits.js';
import { encodeAnimation } from './encode-animation.js';
import { decodeVideo } from './video-decode.js';
import { readApng } from '../png-chunks.js';
import { atMostFps, onBackground, paint, samplePixels, type Frame } from './frames.js';

// Images (WebP, PNG, JPEG, GIF; animated WebP and GIF with every frame) converted, and encoded images read
// back, by libvips.

/** An image as PNG (one frame), or as an animation when it has more than one frame and the format has them. */
export async function convertImage(task: ImageTask): Promise<EncodeResult> {
  try {
    if (task.source === 'video') {
      const v = await decodeVideo(task.data, { ffmpegPath: task.ffmpegPath ?? 'ffmpeg', fps: task.fps, size: task.size, maxFrames: task.maxFrames });
      return await encodeFrames(task, v.frames, v.width, v.height);
    }
    const apng = task.ffmpegPath ? animatedPng(task.data) : undefined;
    if (apng) return await convertApng(task, apng);
    const meta = await sharp(task.data, { animated: true, limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    const pages = meta.pages ?? 1;
    const frame = task.frame ?? 0;
    if (frame >= pages) return noSuchFrame(pages);
    const animatedOut = task.format !== 'png';
    if (animatedOut && pages > 1) return await convertAnimated(task, meta, pages);
    if (task.format === 'webm' || task.format === 'mp4') {
      return { ok: false, detail: 'still', badParameter: { name: 'format', expected: `webm and mp4 are for animated stickers; this image has one frame` } };
    }
    return await convertStill(task, frame);
  } catch (err) {
    return { ok: false, detail: `the image could not be converted: ${(err as Error).message}`, tooLarge: (err as { tooLarge?: boolean }).tooLarge };
  }
}

/** One frame (page) of an image as PNG, WebP or GIF within size x size (APNG of a still is its PNG). */
async function convertStill(task: ImageTask, page: number): Promise<EncodeResult> {
  let img = sharp(task.data, { page, pages: 1, limitInputPixels: MAX_INPUT_PIXELS });
  if (task.square) img = img.resize(task.square, task.square, { fit: 'contain', background: { r: 0, g: 0, b: 0, alpha: 0 } });
  else if (task.size) img = img.resize(task.size, task.size, { fit: 'inside' });
  img = await painted(img, task.tint, task.background);
  img = task.format === 'webp' ? img.webp({ quality: task.quality ?? 80, effort: 4 }) : task.format === 'gif' ? img.gif() : img.png(PNG_OPTIONS);
  const { data, info } = await img.toBuffer({ resolveWithObject: true });
  return { ok: true, data, width: info.width, height: info.height, frames: 1, still: true };
}

/**
 * Every frame of an animated WebP or GIF, decoded by libvips at the output size (it composites GIF's
 * partial frames and WebP's blending), each with its own delay, to any animated format.
 */
async function convertAnimated(task: ImageTask, meta: sharp.Metadata, pages: number): Promise<EncodeResult> {
  if (pages > task.maxFrames) return { ok: false, detail: `the image has ${pages} frames; the limit is ${task.maxFrames} (MAX_FRAMES)` };
  const w = meta.width ?? 0;
  const h = meta.pageHeight ?? (meta.height ?? 0) / pages;
  const scale = task.size ? Math.min(task.size / w, task.size / h) : 1;
  if (w * h * scale * scale * pages > MAX_ANIMATION_PIXELS) {
    return { ok: false, detail: `${pages} frames of ${Math.round(w * scale)}x${Math.round(h * scale)} are more than ${MAX_ANIMATION_PIXELS} pixels to hold; ask for a smaller size`, tooLarge: true };
  }
  let img = sharp(task.data, { animated: true, limitInputPixels: MAX_INPUT_PIXELS });
  if (task.size) img = img.resize(task.size, task.size, { fit: 'inside' });
  const { data, info } = await img.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const width = info.width;
  const height = info.height / pages;
  const bytes = width * height * 4;
  // Frames are views of one buffer, read as 32-bit pixels: it must start on a 4-byte boundary.
  const all = data.byteOffset % 4 === 0 ? data : new Uint8Array(data);
  // GIF and WebP files without delays show each frame for 100 ms in browsers.
  const delays = meta.delay ?? [];
  const frames: Frame[] = Array.from({ length: pages }, (_, k) => ({ rgba: all.subarray(k * bytes, (k + 1) * bytes), delayMs: delays[k] || 100 }));
  return encodeFrames(task, frames, width, height);
}

/** A frame past an image's last: a 400 naming the range. */
const noSuchFrame = (frames: number): EncodeResult => ({ ok: false, detail: 'frame', badParameter: { name: 'frame', expected: `an integer from 0 to ${frames - 1} for this image` } });

/** An animated PNG's frame count and delays, from its chunks; undefined for any other file. */
function animatedPng(data: Uint8Array): { frames: number; delaysMs: number[] } | undefined {
  if (!(data[0] === 0x89 && data[1] === 0x50 && data[2] === 0x4e && data[3] === 0x47)) return undefined;
  try {
    const a = readApng(data);
    return a.frames > 1 ? a : undefined;
  } catch {
    return undefined; // a PNG whose chunks do not parse is libvips' to judge
  }
}

/**
 * An animated PNG: libvips reads only its default image, so ffmpeg composes the frames (blending and
 * disposal) and the chunks give each frame's delay. Without ffmpeg it is converted as a still.
 */
async function convertApng(task: ImageTask, apng: { frames: number; delaysMs: number[] }): Promise<EncodeResult> {
  if (apng.frames > task.maxFrames) return { ok: false, detail: `the image has ${apng.frames} frames; the limit is ${task.maxFrames} (MAX_FRAMES)` };
  const v = await decodeVideo(task.data, { ffmpegPath: task.ffmpegPath!, input: 'apng', size: task.size, maxFrames: task.maxFrames });
  // The fcTL of a default image that is not part of the animation comes first: the last delays are the frames'.
  const delays = apng.delaysMs.slice(-v.frames.length);
  v.frames.forEach((f, i) => (f.delayMs = Math.round(delays[i] ?? f.delayMs) || 100));
  const frame = task.frame ?? 0;
  if (frame >= v.frames.length) return noSuchFrame(v.frames.length);
  if (task.format === 'png') {
    paint(v.frames[frame].rgba, task.tint, task.background);
    const data = await sharp(v.frames[frame].rgba, { raw: { width: v.width, height: v.height, channels: 4 } }).png(PNG_OPTIONS).toBuffer();
    return { ok: true, data, width: v.width, height: v.height, frames: 1, still: true };
  }
  return encodeFrames(task, v.frames, v.width, v.height);
}

/** Decoded frames (an image's or a video's) to the task's animated format, on its background if any. */
async function encodeFrames(task: ImageTask, decoded: Frame[], width: number, height: number): Promise<EncodeResult> {
  const frames = task.source !== 'video' && task.fps ? atMostFps(decoded, task.fps) : decoded;
  const sample = () => {
    const out = samplePixels(frames.length, width * height, (k) => frames[k].rgba);
    paint(out, task.tint, task.background);
    return out;
  };
  const durationMs = frames.reduce((n, f) => n + f.delayMs, 0);
  // The sample is a copy, taken before the frames are flattened.
  const r = await encodeAnimation(onBackground(frames, task.background, task.tint), sample, {
    format: task.format as 'webp' | 'gif' | 'apng' | 'webm' | 'mp4',
    width,
    height,
    quality: task.quality ?? 80,
    gifAlpha: task.gifAlpha,
    background: task.background,
    ffmpegPath: task.ffmpegPath,
    square: task.square,
    compact: task.compact,
  });
  return { ok: true, ...r, durationMs };
}

export async function imageInfo(task: ImageInfoTask): Promise<ImageInfoResult> {
  try {
    const m = await sharp(task.data, { animated: true, limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    return { ok: true, width: m.width ?? 0, height: m.pageHeight ?? m.height ?? 0, frames: m.pages ?? 1, durationMs: m.delay ? m.delay.reduce((a, b) => a + b, 0) : undefined };
  } catch (err) {
    return { ok: false, detail: `the image could not be read: ${(err as Error).message}` };
  }
}

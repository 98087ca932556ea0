import { GIFEncoder, quantize } from 'gifenc';
import type { Rect } from './frame-diff.js';
import { inUnits, type Frames } from './frames.js';
import { paletteIndexer, visibleColours } from './palette.js';
import type { GifAlpha } from '../../model/variant.js';

export interface GifOptions {
  width: number;
  height: number;
  /** Opaque RGB every frame is composited onto (no transparency), or undefined. */
  background?: [number, number, number];
  /** How translucent pixels become GIF's 1-bit alpha (without a background). */
  alpha: GifAlpha;
}

/** An indexed frame waiting to be written: the next frame decides how it is disposed of. */
interface Held {
  indexed: Uint8Array;
  delayMs: number;
}

/**
 * GIF with gifenc: one palette for the whole animation (255 colours quantised from a sample of frames, plus
 * one transparent entry), 1-bit alpha or a solid background, looping forever. Delays are rounded to GIF's
 * 10 ms units on the running time, so the total is the source's.
 *
 * After the first, a frame is only the rectangle that differs from what is on the canvas, its unchanged
 * pixels written as the transparent entry (runs that LZW packs into little). Transparent keeps what is
 * under it, so a pixel cannot be made clear by drawing: a frame whose next frame clears pixels grows its
 * rectangle over them and is disposed of (its rectangle restored to transparent) once shown.
 */
export async function encodeGif(frames: Frames, sample: Uint8Array, opts: GifOptions): Promise<{ data: Uint8Array; frames: number }> {
  const { width, height } = opts;
  const bg = opts.background;
  const dither = !bg && opts.alpha === 'dither';
  if (dither) ditherAlpha(sample, width);
  const colours = quantize(visibleColours(sample, !bg), 255, { format: 'rgb565' });
  const palette = [...colours, [0, 0, 0]];
  const clear = palette.length - 1;
  const index = paletteIndexer(colours, !bg);
  const gif = GIFEncoder({ auto: false });
  const scratch = GIFEncoder({ auto: false });
  const canvas = new Uint8Array(width * height).fill(clear); // what shows before the held frame is drawn
  let first: Uint8Array | undefined;
  let written = 0;
  const write = (h: Held, next: Uint8Array) => {
    const { rect, clears } = written === 0 ? { rect: { x: 0, y: 0, width, height }, clears: !bg && clearsPixels(h.indexed, next, clear) } : drawnArea(canvas, h.indexed, next, width, height, clear);
    const dispose = clears ? 2 : 1;
    const pixels = keepUnchanged(canvas, h.indexed, width, rect, clear);
    const options = { delay: h.delayMs, transparent: true, transparentIndex: clear, dispose };
    if (written === 0) {
      gif.writeHeader();
      gif.writeFrame(pixels, width, height, { ...options, first: true, palette, repeat: 0 });
    } else {
      scratch.reset();
      scratch.writeFrame(pixels, rect.width, rect.height, options);
      gif.stream.writeBytesView(placed(scratch.bytesView(), rect));
    }
    written++;
    canvas.set(h.indexed);
    if (clears) for (let y = rect.y; y < rect.y + rect.height; y++) canvas.fill(clear, y * width + rect.x, y * width + rect.x + rect.width);
  };
  let held: Held | undefined;
  for await (const f of inUnits(frames, 10)) {
    if (dither) ditherAlpha(f.rgba, width);
    const indexed = index(f.rgba);
    // A frame equal to the one before lengthens it instead of being written again.
    if (held && equal(held.indexed, indexed)) held.delayMs += f.delayMs;
    else {
      if (held) write(held, indexed);
      first ??= indexed;
      held = { indexed, delayMs: f.delayMs };
    }
  }
  // The last frame is followed by the first when the animation loops.
  if (held) write(held, first!);
  gif.finish();
  return { data: gif.bytes(), frames: written };
}

/**
 * The rectangle a frame must cover: the pixels that differ from the canvas, and those it shows that the
 * next frame clears (disposing of the frame clears its rectangle); whether there are any of the latter.
 */
function drawnArea(canvas: Uint8Array, frame: Uint8Array, next: Uint8Array, width: number, height: number, clear: number): { rect: Rect; clears: boolean } {
  let [left, top, right, bottom] = [width, height, -1, -1];
  let clears = false;
  const look = (i: number) => {
    const clearing = next[i] === clear && frame[i] !== clear;
    if (canvas[i] === frame[i] && !clearing) return;
    clears ||= clearing;
    const x = i % width;
    const y = (i - x) / width;
    if (x < left) left = x;
    if (x > right) right = x;
    if (y < top) top = y;
    if (y > bottom) bottom = y;
  };
  // Four pixels at a time where the canvas, the frame and the next frame agree (most of a sticker): none
  // of them is drawn or cleared. The arrays are fresh allocations, so 4-byte aligned.
  const words = frame.length >> 2;
  const [c32, f32, n32] = [canvas, frame, next].map((a) => new Uint32Array(a.buffer, a.byteOffset, words));
  for (let j = 0; j < words; j++) {
    const f = f32[j];
    if (c32[j] === f && n32[j] === f) continue;
    for (let i = j << 2, end = i + 4; i < end; i++) look(i);
  }
  for (let i = words << 2; i < frame.length; i++) look(i);
  // Nothing to draw (the canvas already shows the frame): one kept pixel carries the frame's delay.
  if (right < 0) return { rect: { x: 0, y: 0, width: 1, height: 1 }, clears };
  return { rect: { x: left, y: top, width: right + 1 - left, height: bottom + 1 - top }, clears };
}

/** The frame's rectangle, with the pixels the canvas shows already as the transparent entry (kept). */
function keepUnchanged(canvas: Uint8Array, frame: Uint8Array, width: number, r: Rect, clear: number): Uint8Array {
  const out = new Uint8Array(r.width * r.height);
  for (let y = 0, o = 0; y < r.height; y++) {
    for (let x = 0, i = (r.y + y) * width + r.x; x < r.width; x++, i++, o++) out[o] = frame[i] === canvas[i] ? clear : frame[i];
  }
  return out;
}

/** Whether a pixel visible in `from` is clear in `to`. */
function clearsPixels(from: Uint8Array, to: Uint8Array, clear: number): boolean {
  for (let i = 0; i < from.length; i++) if (to[i] === clear && from[i] !== clear) return true;
  return false;
}

/**
 * A frame gifenc wrote at the canvas origin (graphic control extension, then the image descriptor), moved
 * to the rectangle's place: the descriptor's left and top fields.
 */
function placed(frame: Uint8Array, r: Rect): Uint8Array {
  const at = 8; // the graphic control extension is 8 bytes
  if (frame[0] !== 0x21 || frame[at] !== 0x2c) throw new Error('unexpected GIF frame layout');
  const out = frame.slice();
  out[at + 1] = r.x & 0xff;
  out[at + 2] = r.x >> 8;
  out[at + 3] = r.y & 0xff;
  out[at + 4] = r.y >> 8;
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

// An 8x8 ordered-dither (Bayer) matrix: thresholds spread evenly over 0..255, neighbours far apart.
const BAYER = [0, 32, 8, 40, 2, 34, 10, 42, 48, 16, 56, 24, 50, 18, 58, 26, 12, 44, 4, 36, 14, 46, 6, 38, 60, 28, 52, 20, 62, 30, 54, 22, 3, 35, 11, 43, 1, 33, 9, 41, 51, 19, 59, 27, 49, 17, 57, 25, 15, 47, 7, 39, 13, 45, 5, 37, 63, 31, 55, 23, 61, 29, 53, 21].map((b) => b * 4 + 2);

/**
 * Translucent pixels made opaque or clear in place, by an ordered pattern: a pixel of alpha a is kept where
 * a passes its place's threshold, so an area at alpha 68 keeps about 27 % of its pixels, in its own colour.
 * A fixed threshold would make it vanish (or turn solid); the pattern shows it on light and dark pages
 * alike, and being fixed it does not shimmer from frame to frame.
 */
export function ditherAlpha(rgba: Uint8Array, width: number): void {
  for (let i = 3, p = 0; i < rgba.length; i += 4, p++) {
    const a = rgba[i];
    if (a === 0 || a === 255) continue;
    const x = p % width;
    const y = (p - x) / width;
    rgba[i] = a > BAYER[((y & 7) << 3) | (x & 7)] ? 255 : 0;
  }
}

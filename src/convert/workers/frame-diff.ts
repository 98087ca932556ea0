import type { Frames } from './frames.js';

/** Where a sub-frame goes on the canvas. */
export type Rect = { x: number; y: number; width: number; height: number };

/** Bounding box of the pixels that differ, with an even origin (ANMF stores offsets halved); undefined if none. */
export function changedRect(a: Uint32Array | Uint8Array, b: Uint32Array | Uint8Array, width: number, height: number): Rect | undefined {
  let top = -1;
  for (let y = 0; y < height && top < 0; y++) {
    for (let o = y * width, end = o + width; o < end; o++) if (a[o] !== b[o]) { top = y; break; }
  }
  if (top < 0) return undefined;
  let bottom = top;
  for (let y = height - 1; y > top; y--) {
    let differs = false;
    for (let o = y * width, end = o + width; o < end; o++) if (a[o] !== b[o]) { differs = true; break; }
    if (differs) { bottom = y; break; }
  }
  let left = width;
  let right = -1;
  for (let y = top; y <= bottom; y++) {
    const row = y * width;
    for (let x = 0; x < left; x++) if (a[row + x] !== b[row + x]) { left = x; break; }
    for (let x = width - 1; x > right; x--) if (a[row + x] !== b[row + x]) { right = x; break; }
  }
  const x = left & ~1;
  const y = top & ~1;
  return { x, y, width: right + 1 - x, height: bottom + 1 - y };
}

/** The rectangle's pixels (RGBA rows of a canvasWidth-wide frame): a view when it spans whole rows, else a copy. */
export function crop(rgba: Uint8Array, canvasWidth: number, r: Rect): Uint8Array {
  if (r.width === canvasWidth && r.x === 0) return rgba.subarray(r.y * canvasWidth * 4, (r.y + r.height) * canvasWidth * 4);
  const out = new Uint8Array(r.width * r.height * 4);
  for (let row = 0; row < r.height; row++) {
    const from = ((r.y + row) * canvasWidth + r.x) * 4;
    out.set(rgba.subarray(from, from + r.width * 4), row * r.width * 4);
  }
  return out;
}

/** When a kept frame shows: its delay grows while the frames after it repeat it. */
export interface Timing {
  delayMs: number;
}

/**
 * The frames of an animation as changes, for encoders that write sub-frames which replace what is under
 * them: the first frame whole, then the rectangle that changed since the frame before; a frame equal to
 * the one before is not yielded but lengthens the last yielded timing. Keep `timing`, not `rgba`: frames
 * are made one at a time and must not be held.
 */
export async function* frameChanges(frames: Frames, width: number, height: number): AsyncGenerator<{ rgba: Uint8Array; rect: Rect; timing: Timing }> {
  let previous: Uint32Array | undefined;
  let last: Timing | undefined;
  for await (const { rgba, delayMs } of frames) {
    const px = new Uint32Array(rgba.buffer, rgba.byteOffset, width * height);
    const rect = previous ? changedRect(previous, px, width, height) : { x: 0, y: 0, width, height };
    previous = px;
    if (!rect) {
      last!.delayMs += delayMs;
      continue;
    }
    last = { delayMs };
    yield { rgba, rect, timing: last };
  }
}

// Rectangles being encoded on libuv's threads while the pool thread renders the next: enough to keep two
// cores busy (3, 4 and 6 measured for WebP: 4 and 6 within the noise, 4 holds less memory).
const IN_FLIGHT = 4;

/**
 * frameChanges with each changed rectangle's pixels handed to `encode` (libvips through sharp, which runs on
 * libuv's threads) as it comes, at most IN_FLIGHT at a time, so encoding overlaps rendering and uses more
 * than one core. Resolves, in order, with each kept frame's rectangle, final delay and encoding.
 */
export async function encodeChanges<T>(
  frames: Frames,
  width: number,
  height: number,
  encode: (pixels: Uint8Array, rect: Rect) => Promise<T>,
): Promise<Array<{ rect: Rect; delayMs: number; encoded: T }>> {
  const rects: Rect[] = [];
  const timings: Timing[] = [];
  const jobs: Array<Promise<T>> = [];
  const inFlight: Array<Promise<unknown>> = [];
  for await (const { rgba, rect, timing } of frameChanges(frames, width, height)) {
    rects.push(rect);
    timings.push(timing);
    const job = encode(crop(rgba, width, rect), rect);
    job.catch(() => undefined); // a failure is reported once, by Promise.all below, not as an unhandled rejection
    jobs.push(job);
    inFlight.push(job);
    if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
  }
  // Delays are read only now: a kept frame's grows while the frames after it repeat it.
  return (await Promise.all(jobs)).map((encoded, k) => ({ rect: rects[k], delayMs: timings[k].delayMs, encoded }));
}

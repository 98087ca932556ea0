// The frames every animated output is written from, whatever made them: the Lottie renderer, libvips'
// pages of an animated WebP or GIF, or ffmpeg decoding a video.

/** One frame: straight-alpha RGBA of the whole canvas, and how long it shows. */
export interface Frame {
  rgba: Uint8Array;
  delayMs: number;
}

/** Frames as they are made, one at a time (a source may be a child process). */
export type Frames = AsyncIterable<Frame> | Iterable<Frame>;

/**
 * Delays rounded to whole units (GIF counts in 10 ms) by rounding the running time, not each delay, so
 * the total stays the source's; a frame whose share rounds to nothing is dropped.
 */
export async function* inUnits(frames: Frames, unitMs: number): AsyncGenerator<Frame> {
  let elapsed = 0;
  let written = 0;
  for await (const f of frames) {
    elapsed += f.delayMs;
    const end = Math.round(elapsed / unitMs) * unitMs;
    if (end === written) continue;
    yield { rgba: f.rgba, delayMs: end - written };
    written = end;
  }
}

/** Straight-alpha RGBA composited in place onto an opaque colour. */
export function flattenOnto(px: Uint8Array, [r, g, b]: [number, number, number]): void {
  for (let i = 0; i < px.length; i += 4) {
    const a = px[i + 3] / 255;
    px[i] = px[i] * a + r * (1 - a);
    px[i + 1] = px[i + 1] * a + g * (1 - a);
    px[i + 2] = px[i + 2] * a + b * (1 - a);
    px[i + 3] = 255;
  }
}

/** Each frame flattened onto bg when there is one. */
export async function* onBackground(frames: Frames, bg: [number, number, number] | undefined): AsyncGenerator<Frame> {
  for await (const f of frames) {
    if (bg) flattenOnto(f.rgba, bg);
    yield f;
  }
}

/** Each frame centred on a transparent square canvas of side x side (a platform that takes only squares). */
export async function* onSquare(frames: Frames, width: number, height: number, side: number): AsyncGenerator<Frame> {
  for await (const f of frames) yield { rgba: centred(f.rgba, width, height, side), delayMs: f.delayMs };
}

/** Every width x height image in rgba (a frame, or a sample of frames one after another) centred on its own side x side square. */
export function centred(rgba: Uint8Array, width: number, height: number, side: number): Uint8Array {
  const images = rgba.length / (width * height * 4);
  const out = new Uint8Array(images * side * side * 4);
  const x = Math.floor((side - width) / 2);
  const y = Math.floor((side - height) / 2);
  for (let k = 0; k < images; k++) {
    for (let row = 0; row < height; row++) {
      const from = (k * height + row) * width * 4;
      out.set(rgba.subarray(from, from + width * 4), (k * side * side + (y + row) * side + x) * 4);
    }
  }
  return out;
}

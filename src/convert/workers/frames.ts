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

/**
 * Frames shown at most fps times a second: at each tick (1/fps apart) the frame showing at that time,
 * consecutive ticks of one frame merged; delays rounded on the running time so the total is kept. Frames
 * already slower than fps come out as they were.
 */
export function atMostFps(frames: Frame[], fps: number): Frame[] {
  const total = frames.reduce((n, f) => n + f.delayMs, 0);
  const tick = 1000 / fps;
  const out: Frame[] = [];
  let k = 0;
  let start = 0; // when frame k starts
  let shown = -1;
  for (let i = 0; i * tick < total; i++) {
    const t = i * tick;
    while (k + 1 < frames.length && start + frames[k].delayMs <= t) start += frames[k++].delayMs;
    const delayMs = Math.round(Math.min(total, (i + 1) * tick)) - Math.round(t);
    if (k === shown) out[out.length - 1].delayMs += delayMs;
    else out.push({ rgba: frames[k].rgba, delayMs });
    shown = k;
  }
  return out;
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

/**
 * Straight-alpha RGBA painted in place: every pixel takes tint keeping its alpha (how Telegram clients draw
 * needs_repainting emoji in the text colour), then flattened onto bg.
 */
export function paint(px: Uint8Array, tint: [number, number, number] | undefined, bg: [number, number, number] | undefined): void {
  if (tint) {
    const [r, g, b] = tint;
    for (let i = 0; i < px.length; i += 4) {
      px[i] = r;
      px[i + 1] = g;
      px[i + 2] = b;
    }
  }
  if (bg) flattenOnto(px, bg);
}

/** Each frame painted (tint, then background) when either is asked for. */
export async function* onBackground(frames: Frames, bg: [number, number, number] | undefined, tint?: [number, number, number]): AsyncGenerator<Frame> {
  for await (const f of frames) {
    paint(f.rgba, tint, bg);
    yield f;
  }
}

/** Each frame centred on a transparent square canvas of side x side (a platform that takes only squares). */
export async function* onSquare(frames: Frames, width: number, height: number, side: number): AsyncGenerator<Frame> {
  for await (const f of frames) yield { rgba: centred(f.rgba, width, height, side), delayMs: f.delayMs };
}

/** A width x height image centred on a transparent side x side square. */
export function centred(rgba: Uint8Array, width: number, height: number, side: number): Uint8Array {
  const out = new Uint8Array(side * side * 4);
  const x = Math.floor((side - width) / 2);
  const y = Math.floor((side - height) / 2);
  for (let row = 0; row < height; row++) out.set(rgba.subarray(row * width * 4, (row + 1) * width * 4), ((y + row) * side + x) * 4);
  return out;
}

// The GIF palette is made from this many pixels at most, taken evenly from up to PALETTE_SAMPLE_FRAMES
// frames spread over the animation: a sticker that cycles its colours needs frames from all of it.
const PALETTE_SAMPLE_PIXELS = 1 << 21;
const PALETTE_SAMPLE_FRAMES = 16;

/**
 * A bag of pixels (RGBA, in a buffer of its own) for a palette, from up to PALETTE_SAMPLE_FRAMES of `count`
 * frames evenly spread (`frame(i)` makes frame i, one at a time, so they need not all be held): every
 * stride-th pixel of each, the stride chosen so there are at most PALETTE_SAMPLE_PIXELS in all, starting
 * one pixel further in each frame.
 */
export function samplePixels(count: number, pixelsEach: number, frame: (i: number) => Uint8Array): Uint8Array {
  const picked = Math.min(count, PALETTE_SAMPLE_FRAMES);
  const stride = Math.max(1, Math.ceil((picked * pixelsEach) / PALETTE_SAMPLE_PIXELS));
  const out = new Uint32Array(Math.ceil(pixelsEach / stride) * picked);
  let n = 0;
  for (let k = 0; k < picked; k++) {
    const rgba = frame(Math.floor((k * count) / picked));
    const px = new Uint32Array(rgba.buffer, rgba.byteOffset, rgba.length >> 2);
    for (let i = k % stride; i < px.length && n < out.length; i += stride) out[n++] = px[i];
  }
  return new Uint8Array(out.buffer.slice(0, n * 4));
}

import sharp from 'sharp';
import { encodeChanges, type Rect } from './frame-diff.js';
import type { Frames } from './frames.js';

export interface WebpFrameOptions {
  width: number;
  height: number;
  quality: number;
  /** libwebp's method (0-6); EFFORT unless a benchmark compares others. */
  effort?: number;
}

/** One frame of the animation as libwebp produced it: its bitstream chunks and where it goes on the canvas. */
interface EncodedFrame {
  x: number;
  y: number;
  width: number;
  height: number;
  durationMs: number;
  /** ALPH (optional) and VP8/VP8L chunks, headers included, ready to sit inside an ANMF chunk. */
  chunks: Uint8Array;
  alpha: boolean;
}

// libwebp's lossless alpha plane costs more than the colour planes at 512 px; alpha quality 80 cut a frame
// from ~20 to ~14 ms with no change in PSNR of the composite (bench/ and BENCHMARKS.md).
const ALPHA_QUALITY = 80;
// Effort 2 encodes as fast as 0 here and gives files ~40 % smaller; 4 gives a fifth fewer bytes again for
// 2.2-2.4 times the time, which would give back the speed lead (bench:webp-choices, BENCHMARKS.md).
const EFFORT = 2;

/**
 * An animated WebP built frame by frame: each frame is only the rectangle that changed since the previous
 * one (identical frames just lengthen the previous), encoded as a still by libwebp through sharp, which runs
 * on libuv's thread pool, so encoding overlaps rendering and uses more than one core; the stills are then
 * muxed into one looping animation. libvips' own animated encoder runs on one thread and tries several
 * candidates per frame, which made it 3 to 4 times slower for stickers.
 */
export async function encodeAnimatedWebp(frames: Frames, opts: WebpFrameOptions): Promise<{ data: Buffer; frames: number }> {
  const { width, height } = opts;
  const done = await encodeChanges(frames, width, height, (pixels, r) => encodeRect(pixels, r, opts.quality, opts.effort ?? EFFORT));
  return { data: mux(done.map(({ rect, delayMs, encoded }) => ({ ...rect, ...encoded, durationMs: delayMs })), width, height), frames: done.length };
}

async function encodeRect(pixels: Uint8Array, r: Rect, quality: number, effort: number): Promise<Omit<EncodedFrame, keyof Rect | 'durationMs'>> {
  const still = await sharp(pixels, { raw: { width: r.width, height: r.height, channels: 4 } })
    .webp({ quality, alphaQuality: ALPHA_QUALITY, effort })
    .toBuffer();
  return bitstream(still);
}

/** The ALPH + VP8 (or VP8L, or plain VP8) chunks of a still WebP file. */
function bitstream(file: Buffer): { chunks: Uint8Array; alpha: boolean } {
  if (file.toString('latin1', 0, 4) !== 'RIFF' || file.toString('latin1', 8, 12) !== 'WEBP') throw new Error('libwebp returned no WebP');
  let at = 12;
  let start = -1;
  let alpha = false;
  while (at + 8 <= file.length) {
    const fourcc = file.toString('latin1', at, at + 4);
    const size = file.readUInt32LE(at + 4);
    if (fourcc === 'ALPH' || fourcc === 'VP8 ' || fourcc === 'VP8L') {
      if (start < 0) start = at;
      if (fourcc !== 'VP8 ') alpha = true;
    }
    at += 8 + size + (size & 1);
  }
  if (start < 0) throw new Error('libwebp returned no image data');
  return { chunks: file.subarray(start, at), alpha };
}

function chunk(fourcc: string, payload: Uint8Array[]): Buffer {
  const size = payload.reduce((n, p) => n + p.length, 0);
  const head = Buffer.alloc(8);
  head.write(fourcc, 0, 'latin1');
  head.writeUInt32LE(size, 4);
  return Buffer.concat([head, ...payload, ...(size & 1 ? [Buffer.alloc(1)] : [])]);
}

const uint24 = (b: Buffer, at: number, v: number) => b.writeUIntLE(v, at, 3);

/** RIFF/WEBP with VP8X + ANIM (loop forever) + one ANMF per frame: no blending, no disposal. */
function mux(frames: EncodedFrame[], width: number, height: number): Buffer {
  const vp8x = Buffer.alloc(10);
  vp8x[0] = 0x02 | (frames.some((f) => f.alpha) ? 0x10 : 0); // animation, alpha
  uint24(vp8x, 4, width - 1);
  uint24(vp8x, 7, height - 1);
  const anim = Buffer.alloc(6); // background colour 0 (transparent), loop count 0 (forever)
  const parts = [chunk('VP8X', [vp8x]), chunk('ANIM', [anim])];
  for (const f of frames) {
    const head = Buffer.alloc(16);
    uint24(head, 0, f.x / 2);
    uint24(head, 3, f.y / 2);
    uint24(head, 6, f.width - 1);
    uint24(head, 9, f.height - 1);
    uint24(head, 12, f.durationMs);
    // Do not blend: the rectangle replaces what is under it, alpha included; do not dispose.
    head[15] = 0x02;
    parts.push(chunk('ANMF', [head, f.chunks]));
  }
  const body = Buffer.concat(parts);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(4 + body.length, 4);
  riff.write('WEBP', 8, 'latin1');
  return Buffer.concat([riff, body]);
}

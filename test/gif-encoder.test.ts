import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { quantize } from 'gifenc';
import { encodeGif } from '../src/convert/workers/gif.js';
import { paletteIndexer } from '../src/convert/workers/palette.js';

const W = 64;
const H = 48;

/**
 * A frame of a still part (16 colours in 4x4 blocks, top left, as a sticker's body) and a moving part: a
 * 10x10 square of colour rgb at (x, y) on a transparent canvas, and a translucent strip (alpha 100) that
 * GIF's threshold makes clear.
 */
function frame(x: number, y: number, rgb: [number, number, number]): Uint8Array {
  const px = new Uint8Array(W * H * 4);
  for (let j = 0; j < 16; j++) for (let i = 0; i < 16; i++) px.set([((i >> 2) * 60) % 256, ((j >> 2) * 60) % 256, 128, 255], (j * W + i) * 4);
  for (let i = 0; i < W; i++) px.set([0, 0, 0, 100], ((H - 1) * W + i) * 4);
  for (let j = y; j < y + 10; j++) for (let i = x; i < x + 10; i++) px.set([...rgb, 255], (j * W + i) * 4);
  return px;
}

async function pages(data: Uint8Array): Promise<{ delays: number[]; rgba: Buffer[] }> {
  const meta = await sharp(data, { animated: true }).metadata();
  const all = await sharp(data, { animated: true }).ensureAlpha().raw().toBuffer();
  const bytes = W * H * 4;
  return { delays: meta.delay ?? [], rgba: Array.from({ length: meta.pages ?? 1 }, (_, k) => all.subarray(k * bytes, (k + 1) * bytes)) };
}

/** The source as GIF shows it with a threshold: under half opacity clear (all zero), the rest opaque. */
function thresholded(px: Uint8Array): Buffer {
  const out = Buffer.from(px);
  for (let i = 0; i < out.length; i += 4) {
    if (out[i + 3] < 128) out.fill(0, i, i + 4);
    else out[i + 3] = 255;
  }
  return out;
}

test('encodeGif: libvips composes every frame exactly, though later frames are drawn as changed rectangles over the canvas and pixels that turn clear are disposed of', async () => {
  // The square moves (uncovering pixels that must turn clear), stays put once (merged), jumps, changes
  // colour, stays while a pixel elsewhere changes (so the frame's changes do not cover the square, which
  // the next frame clears: the frame must still be grown over it and disposed of), and jumps again.
  const dot = (px: Uint8Array) => (px.set([0, 0, 255, 255], (2 * W + 20) * 4), px);
  const source = [frame(30, 5, [200, 40, 90]), frame(33, 8, [200, 40, 90]), frame(33, 8, [200, 40, 90]), frame(50, 30, [200, 40, 90]), frame(50, 30, [20, 160, 60]), dot(frame(50, 30, [20, 160, 60])), frame(0, 30, [20, 160, 60])];
  const delays = [100, 50, 30, 40, 20, 30, 60];
  const sample = Buffer.concat(source);
  const { data, frames } = await encodeGif(source.map((rgba, i) => ({ rgba: rgba.slice(), delayMs: delays[i] })), new Uint8Array(sample), { width: W, height: H, alpha: 'threshold' });
  assert.equal(frames, 6);
  const out = await pages(data);
  assert.deepEqual(out.delays, [100, 80, 40, 20, 30, 60], 'the repeated frame lengthened the one before');
  const shown = [0, 1, 3, 4, 5, 6].map((k) => thresholded(source[k]));
  out.rgba.forEach((rgba, k) => assert.ok(rgba.equals(shown[k]), `page ${k} differs from its source frame`));
});

test('encodeGif: on a background (no transparency of its own) unchanged pixels are still kept, so a frame that changes little costs little', async () => {
  const bg: [number, number, number] = [255, 255, 255];
  const flat = (px: Uint8Array) => {
    const out = Buffer.from(px);
    for (let i = 0; i < out.length; i += 4) {
      const a = out[i + 3] / 255;
      for (let c = 0; c < 3; c++) out[i + c] = Math.round(out[i + c] * a + bg[c] * (1 - a));
      out[i + 3] = 255;
    }
    return out;
  };
  // A still part of noise (216 colours, each exact in a palette: LZW cannot pack it) and a 1-pixel step
  // per frame over 20 frames: each frame differs from the one before in a thin band only.
  let seed = 3;
  const noise = Array.from({ length: 40 * 40 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) % 216);
  const noisy = (px: Uint8Array) => {
    noise.forEach((k, p) => px.set([(k % 6) * 40, (Math.floor(k / 6) % 6) * 40, Math.floor(k / 36) * 40, 255], ((p % 40) + Math.floor(p / 40) * W) * 4));
    return px;
  };
  // A blinking pixel at the bottom left makes every changed rectangle span the noise: its unchanged pixels
  // must be kept (transparent) for the frame to pack.
  const blink = (px: Uint8Array, k: number) => (px.set([k % 2 ? 0 : 200, 0, 0, 255], (45 * W) * 4), px);
  const source = Array.from({ length: 20 }, (_, k) => flat(blink(noisy(frame(40 + (k % 14), 20, [200, 40, 90])), k)));
  const { data } = await encodeGif(source.map((rgba) => ({ rgba: rgba.slice(), delayMs: 50 })), new Uint8Array(Buffer.concat(source)), { width: W, height: H, background: bg, alpha: 'threshold' });
  const out = await pages(data);
  assert.equal(out.rgba.length, 20);
  out.rgba.forEach((rgba, k) => assert.ok(rgba.equals(source[k]), `page ${k} differs from its source frame`));
  const one = await encodeGif([{ rgba: source[0].slice(), delayMs: 1000 }], new Uint8Array(source[0]), { width: W, height: H, background: bg, alpha: 'threshold' });
  assert.ok(data.length < one.data.length * 3, `20 frames take ${data.length} bytes, one takes ${one.data.length}`);
});

test('paletteIndexer: the nearest palette colour to within its cache buckets (6 bits a channel); under half opacity always the transparent entry', () => {
  // A deterministic 96x96 frame with many colours and alphas (a small linear congruential generator).
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  const px = new Uint8Array(96 * 96 * 4).map((_, i) => (i % 4 === 3 ? (next() > 64 ? 255 : next()) : next()));
  const palette = quantize(px.slice(), 255, { format: 'rgb565' });
  const dist = (k: number, i: number) => (palette[k][0] - px[i]) ** 2 + (palette[k][1] - px[i + 1]) ** 2 + (palette[k][2] - px[i + 2]) ** 2;
  for (const withAlpha of [true, false]) {
    const indexed = paletteIndexer(palette, withAlpha)(px);
    let clear = 0;
    for (let p = 0; p < indexed.length; p++) {
      const i = p * 4;
      if (withAlpha && px[i + 3] < 128) {
        assert.equal(indexed[p], palette.length, `pixel ${p} (alpha ${px[i + 3]}) is not the transparent entry`);
        clear++;
        continue;
      }
      const best = Math.min(...palette.map((_, k) => dist(k, i)));
      // A bucket takes the entry nearest to its first pixel, at most √27 away from any other in it: so
      // the entry is at most 2√27 further than the nearest (triangle inequality).
      assert.ok(Math.sqrt(dist(indexed[p], i)) <= Math.sqrt(best) + 2 * Math.sqrt(27), `pixel ${p}: ${dist(indexed[p], i)} against ${best}`);
    }
    assert.ok(!withAlpha || clear > 500, 'the frame has translucent pixels');
  }
});

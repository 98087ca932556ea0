import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { encodeAnimatedWebp } from '../src/convert/workers/webp.js';
import { changedRect } from '../src/convert/workers/frame-diff.js';

const W = 64;
const H = 48;

/** A transparent frame with an opaque square of colour rgb at (x, y). */
function frame(x: number, y: number, rgb: [number, number, number]): Uint8Array {
  const px = new Uint8Array(W * H * 4);
  for (let j = y; j < y + 10; j++) for (let i = x; i < x + 10; i++) px.set([...rgb, 255], (j * W + i) * 4);
  return px;
}

test('changedRect: the box around the differing pixels, with an even origin; undefined when equal', () => {
  const a = frame(10, 10, [255, 0, 0]);
  const b = frame(21, 13, [255, 0, 0]);
  const u32 = (f: Uint8Array) => new Uint32Array(f.buffer);
  assert.equal(changedRect(u32(a), u32(a), W, H), undefined);
  // Old square 10..19 x 10..19, new 21..30 x 13..22: x from 10 to 30, y from 10 to 22.
  assert.deepEqual(changedRect(u32(a), u32(b), W, H), { x: 10, y: 10, width: 21, height: 13 });
  const c = frame(11, 11, [255, 0, 0]);
  assert.deepEqual(changedRect(u32(a), u32(c), W, H), { x: 10, y: 10, width: 11, height: 11 }, 'odd origin rounded down to even');
});

test('encodeAnimatedWebp: sub-frames compose to every source frame; repeated frames lengthen the previous', async () => {
  const frames = [frame(0, 0, [255, 0, 0]), frame(0, 0, [255, 0, 0]), frame(30, 20, [0, 0, 255]), frame(31, 21, [0, 255, 0])];
  const delays = [100, 50, 40, 30];
  const { data, frames: written } = await encodeAnimatedWebp(frames.map((rgba, i) => ({ rgba, delayMs: delays[i] })), { width: W, height: H, quality: 90 });
  assert.equal(written, 3);
  const meta = await sharp(data, { animated: true }).metadata();
  assert.deepEqual([meta.format, meta.width, meta.pageHeight, meta.pages, meta.loop], ['webp', W, H, 3, 0]);
  assert.deepEqual(meta.delay, [150, 40, 30], 'the repeated frame became part of the first');
  // libvips composes each page from the sub-frames. Each shows its own square (lossy: colours within 40)
  // and nothing of the squares before it, which the replacing (not blending) sub-frames must clear.
  const pixel = async (page: number, x: number, y: number) => {
    const px = await sharp(data, { page }).ensureAlpha().raw().toBuffer();
    return [...px.subarray((y * W + x) * 4, (y * W + x) * 4 + 4)];
  };
  const near = (got: number[], want: number[]) => got.every((v, i) => Math.abs(v - want[i]) <= 40);
  assert.ok(near(await pixel(0, 5, 5), [255, 0, 0, 255]), 'page 0: red square');
  assert.ok(near(await pixel(1, 35, 25), [0, 0, 255, 255]), 'page 1: blue square');
  assert.equal((await pixel(1, 5, 5))[3], 0, 'page 1: the red square is gone');
  assert.ok(near(await pixel(2, 36, 26), [0, 255, 0, 255]), 'page 2: green square');
  assert.equal((await pixel(2, 30, 20))[3], 0, 'page 2: the blue square is gone where the green one does not cover it');
  assert.equal((await pixel(2, 5, 5))[3], 0);
});

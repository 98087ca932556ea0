import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dotLottieRenderer } from '../src/convert/render/dotlottie.js';
import { scoreRenderer } from './fidelity.js';

// rlottie (Telegram's renderer) drew the reference frames; ThorVG differs in anti-aliasing and a few
// effects, so identical output is not expected. A broken renderer (blank, shifted, wrong frame) scores
// 8-15 dB; the worst correct frame measured 21.9 dB and the median 50 dB (BENCHMARKS.md).
const MIN_DB = 20;
const MEDIAN_DB = 40;

test('the default renderer matches rlottie on every corpus reference frame', { timeout: 120_000 }, async (t) => {
  const scores = await scoreRenderer(dotLottieRenderer);
  assert.ok(scores.length >= 60, `reference frames found: ${scores.length}`);
  for (const s of scores) {
    t.diagnostic(`${s.name} frame ${s.frame}: ${s.psnr.toFixed(1)} dB`);
    assert.equal(s.blank, false, `${s.name} frame ${s.frame} is blank where rlottie drew something`);
    assert.ok(s.psnr >= MIN_DB, `${s.name} frame ${s.frame}: ${s.psnr.toFixed(1)} dB < ${MIN_DB}`);
  }
  const sorted = scores.map((s) => s.psnr).sort((a, b) => a - b);
  assert.ok(sorted[Math.floor(sorted.length / 2)] >= MEDIAN_DB);
});

test('frames count from the in-point, as rlottie counts them', async () => {
  // sticker_02 starts at ip=60: rendering Lottie frame 60 + k must match reference frame k, which the
  // fidelity test checks; here, the renderer reports op - ip frames.
  const { referenceSet } = await import('./fidelity.js');
  const s02 = referenceSet().find((r) => r.name === 'sticker_02')!;
  const anim = await dotLottieRenderer.load(s02.json, 64, 64);
  try {
    const doc = JSON.parse(s02.json);
    assert.equal(anim.frames, doc.op - doc.ip);
    assert.equal(anim.frame(0).length, 64 * 64 * 4);
  } finally {
    anim.destroy();
  }
});

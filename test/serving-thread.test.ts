import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildTestApp, fixture, fid } from './helper.js';

// This file imports no image library itself: whatever of them is in this process's module cache, the app's
// main thread loaded.
const THREAD_ONLY = /node_modules\/(sharp|@img|@lottiefiles|canvas|lottie-web|gifenc|fflate)\/|\/convert\/(workers|render)\//;
const ffmpegMissing = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0 ? undefined : 'ffmpeg is not installed (apt-get install ffmpeg)';

test('conversions of every kind leave the serving thread without image libraries, renderers or encoders', async () => {
  const t = await buildTestApp();
  try {
    t.fake.add(fid('tgs'), { data: fixture('sticker_01.tgs') }).add(fid('webp'), { data: fixture('static_webp_800x600.webp') });
    for (const url of [`/stickers/${fid('tgs')}`, `/stickers/${fid('tgs')}?format=png&size=64`, `/stickers/${fid('tgs')}?format=apng&size=32&fps=10`, `/stickers/${fid('webp')}?format=png&size=64`]) {
      const res = await t.app.inject({ url });
      assert.equal(res.statusCode, 200, url);
    }
    const loaded = Object.keys(require.cache).filter((m) => THREAD_ONLY.test(m));
    assert.deepEqual(loaded, []);
  } finally {
    await t.close();
  }
});

test('video output read back for its dimensions in a pool thread, not on the serving thread', { skip: ffmpegMissing }, async () => {
  const t = await buildTestApp();
  try {
    t.fake.add(fid('webm'), { data: fixture('animated_webm_161x121_2s_vp9a.webm') });
    for (const format of ['gif', 'webp', 'apng']) {
      const res = await t.app.inject({ url: `/stickers/${fid('webm')}?format=${format}&size=64` });
      assert.equal(res.statusCode, 200, format);
      assert.deepEqual([res.headers['x-output-width'], res.headers['x-output-height']], ['64', '48'], format);
      assert.ok(Number(res.headers['x-output-frames']) > 1, `${format}: frames ${res.headers['x-output-frames']}`);
    }
    assert.deepEqual(Object.keys(require.cache).filter((m) => THREAD_ONLY.test(m)), []);
  } finally {
    await t.close();
  }
});

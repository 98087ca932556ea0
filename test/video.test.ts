import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildTestApp, fixture, fid, type TestApp } from './helper.js';
import { readApng } from '../src/convert/png-chunks.js';

const WEBM = fixture('animated_webm_161x121_2s_vp9a.webm'); // VP9 with alpha, 161x121, 30 fps, ~1 s
const ffmpegMissing = spawnSync('ffmpeg', ['-version']).status === 0 ? undefined : 'ffmpeg is not installed (apt-get install ffmpeg); skipping video conversions';

describe('video stickers through ffmpeg', { skip: ffmpegMissing }, () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    t.fake.add(fid('webm'), { data: WEBM });
  });
  after(() => t.close());
  const get = (q: string) => t.app.inject({ url: `/stickers/${fid('webm')}?${q}` });

  test('to GIF: animated, looping, transparent where the video is (libvpx-vp9 keeps the alpha)', async () => {
    const res = await get('format=gif&size=80');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/gif');
    const meta = await sharp(res.rawPayload, { animated: true }).metadata();
    assert.equal(meta.width, 80);
    assert.ok((meta.pages ?? 0) >= 25, `frames: ${meta.pages}`);
    assert.equal(meta.loop, 0);
    const total = meta.delay!.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1000) <= 40, `duration ${total} ms`);
    const { data } = await sharp(res.rawPayload, { page: 0 }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.ok([...data].some((v, i) => i % 4 === 3 && v === 0), 'some pixels are transparent');
  });

  test('to animated WebP and to a PNG of the first frame', async () => {
    const webp = await get('format=webp');
    const w = await sharp(webp.rawPayload, { animated: true }).metadata();
    assert.deepEqual([w.format, w.width, w.pageHeight], ['webp', 161, 121]);
    assert.ok((w.pages ?? 0) >= 25);
    const png = await get('format=png&size=100');
    const p = await sharp(png.rawPayload).metadata();
    assert.deepEqual([p.format, p.width, p.height, p.hasAlpha], ['png', 100, 75, true]);
  });

  test('to MP4 that ffprobe reads as H.264, yuv420p, even dimensions, about 1 s', async () => {
    const res = await get('format=mp4');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'video/mp4');
    const file = join(mkdtempSync(join(tmpdir(), 'sp-mp4-')), 'v.mp4');
    writeFileSync(file, res.rawPayload);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,pix_fmt:format=duration', '-of', 'json', file], { encoding: 'utf8' });
    const info = JSON.parse(probe.stdout);
    assert.deepEqual(
      [info.streams[0].codec_name, info.streams[0].pix_fmt, info.streams[0].width % 2, info.streams[0].height % 2],
      ['h264', 'yuv420p', 0, 0],
    );
    assert.ok(Math.abs(Number(info.format.duration) - 1) < 0.1);
  });

  test('to APNG: every frame, looping forever, about 1 s, read from its chunks', async () => {
    const res = await get('format=apng&size=80');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/apng');
    const a = readApng(res.rawPayload);
    assert.equal(a.width, 80);
    assert.equal(a.plays, 0);
    assert.ok(a.frames >= 25 && a.delaysMs.length === a.frames, `frames: ${a.frames}`);
    assert.ok(Math.abs(a.delaysMs.reduce((x, y) => x + y, 0) - 1000) <= 40);
    assert.equal(res.headers['x-output-frames'], String(a.frames));
    // Lossless: its first frame (all libvips reads of an APNG) is the PNG of the video's first frame.
    const first = await sharp(res.rawPayload).ensureAlpha().raw().toBuffer();
    const png = await sharp((await get('format=png&size=80')).rawPayload).ensureAlpha().raw().toBuffer();
    assert.ok(first.equals(png), 'first APNG frame equals the PNG');
  });

  test('background: every format composited onto the colour, with no transparent pixel left', async () => {
    // This video is semi-transparent all over (alpha about 80), so every pixel shows the background through.
    const plain = await sharp((await get('format=png&size=80')).rawPayload).ensureAlpha().raw().toBuffer();
    const at = (40 * 80 + 40) * 4;
    const a = plain[at + 3] / 255;
    assert.ok(a > 0.1 && a < 0.9, `alpha ${a}`);
    const expected = [255, 0, 255].map((bg, c) => plain[at + c] * a + bg * (1 - a));
    for (const format of ['png', 'gif', 'webp', 'apng']) {
      const res = await get(`format=${format}&size=80&background=ff00ff`);
      assert.equal(res.statusCode, 200, format);
      const data = await sharp(res.rawPayload, { page: 0 }).ensureAlpha().raw().toBuffer();
      assert.ok(data.every((v, i) => i % 4 !== 3 || v === 255), `${format}: fully opaque`);
      const got = [...data.subarray(at, at + 3)];
      assert.ok(got.every((v, c) => Math.abs(v - expected[c]) <= 24), `${format}: ${got} is the video over magenta (${expected.map(Math.round)})`);
    }
  });

  test('a broken video is a 422 with ffmpeg\'s reason, and nothing is cached', async () => {
    t.fake.add(fid('badwebm'), { data: Buffer.concat([WEBM.subarray(0, 64), Buffer.alloc(4096, 0x55)]) });
    const res = await t.app.inject({ url: `/stickers/${fid('badwebm')}?format=gif` });
    assert.equal(res.statusCode, 422);
    assert.match(JSON.parse(res.payload).message, /ffmpeg/);
    t.fake.resetCounts();
    await t.app.inject({ url: `/stickers/${fid('badwebm')}?format=gif` });
    assert.equal(t.fake.calls.getFile, 0, 'the stored file is cached, the failed conversion is not');
  });
});

test('without ffmpeg, video conversions answer 501 saying ffmpeg is needed', async () => {
  const t = await buildTestApp({ FFMPEG_PATH: '/nonexistent/ffmpeg' });
  try {
    t.fake.add(fid('webm2'), { data: WEBM });
    const res = await t.app.inject({ url: `/stickers/${fid('webm2')}?format=gif` });
    assert.equal(res.statusCode, 501);
    assert.match(JSON.parse(res.payload).message, /needs ffmpeg, which is not installed/);
    // The file itself is still served.
    assert.equal((await t.app.inject({ url: `/stickers/${fid('webm2')}` })).statusCode, 200);
  } finally {
    await t.close();
  }
});

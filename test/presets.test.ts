import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildTestApp, fixture, fid, type TestApp } from './helper.js';
import { PRESETS, type PresetName } from '../src/model/presets.js';

const ffmpegMissing = spawnSync('ffmpeg', ['-version']).status === 0 ? undefined : 'ffmpeg is not installed (apt-get install ffmpeg)';

/** Codec, size, duration and frame rate as ffprobe reads them (a decoder we did not write). */
function probe(data: Buffer): { codec: string; width: number; height: number; durationMs: number; fps: number } {
  const file = join(mkdtempSync(join(tmpdir(), 'sp-preset-')), 'f');
  writeFileSync(file, data);
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,avg_frame_rate:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout) as { streams: Array<{ codec_name: string; width: number; height: number; avg_frame_rate: string }>; format: { duration: string } };
  const [n, d] = j.streams[0].avg_frame_rate.split('/').map(Number);
  return { codec: j.streams[0].codec_name, width: j.streams[0].width, height: j.streams[0].height, durationMs: Number(j.format.duration) * 1000, fps: n / (d || 1) };
}

/** Every limit of the preset, checked on the bytes sent with decoders we did not write. */
async function assertFits(name: PresetName, body: Buffer, animated: boolean, what: string): Promise<void> {
  const preset = PRESETS[name];
  const target = animated ? preset.animated : preset.still;
  assert.ok(body.length <= target.maxBytes, `${what}: ${body.length} bytes, limit ${target.maxBytes}`);
  const side = (w: number, h: number) => (preset.square ? w === preset.size && h === preset.size : Math.max(w, h) === preset.size || (preset.sizeMayShrink && Math.max(w, h) <= preset.size));
  if (target.format === 'webm') {
    const p = probe(body);
    assert.equal(p.codec, 'vp9', what);
    assert.ok(side(p.width, p.height), `${what}: ${p.width}x${p.height}`);
    assert.ok(p.durationMs <= preset.animated.maxDurationMs + 1, `${what}: ${p.durationMs} ms`);
    assert.ok(p.fps <= preset.animated.maxFps, `${what}: ${p.fps} fps`);
  } else if (target.format === 'apng' && animated) {
    const p = probe(body);
    assert.equal(p.codec, 'apng', what);
    assert.ok(side(p.width, p.height), `${what}: ${p.width}x${p.height}`);
  } else {
    const m = await sharp(body, { animated: true }).metadata();
    assert.equal(m.format, target.format === 'apng' ? 'png' : target.format, what);
    assert.ok(side(m.width!, m.pageHeight ?? m.height!), `${what}: ${m.width}x${m.pageHeight ?? m.height}`);
    if (animated) assert.ok((m.delay ?? []).reduce((a, b) => a + b, 0) <= preset.animated.maxDurationMs + 1, what);
  }
}

describe('presets: the result fits the platform, or a 422 says which limit and by how much', { skip: ffmpegMissing }, () => {
  let t: TestApp;
  const sources: Array<[string, Buffer, boolean]> = [
    ['sticker_05.tgs', fixture('sticker_05.tgs'), true],
    ['animated_webm_161x121_2s_vp9a.webm', fixture('animated_webm_161x121_2s_vp9a.webm'), true],
    ['animated_webp_160x90_1s.webp', fixture('animated_webp_160x90_1s.webp'), true],
    ['static_webp_800x600.webp', fixture('static_webp_800x600.webp'), false],
  ];
  before(async () => {
    t = await buildTestApp({ ENDPOINT_TIMEOUT_SEC: '120', CONVERSION_TIMEOUT_SEC: '120' });
    for (const [name, data] of sources) t.fake.add(fid(name.replace(/\W/g, '')), { data });
  });
  after(() => t.close());

  for (const name of Object.keys(PRESETS) as PresetName[]) {
    test(`preset=${name}: every source fits, checked by decoders we did not write; headers say what was traded`, { timeout: 300_000 }, async () => {
      for (const [file, , animated] of sources) {
        const res = await t.app.inject({ url: `/stickers/${fid(file.replace(/\W/g, ''))}?preset=${name}` });
        assert.equal(res.statusCode, 200, `${file}: ${res.payload}`);
        await assertFits(name, res.rawPayload, animated, `${name} of ${file}`);
        assert.equal(res.headers['x-preset'], name);
        assert.match(String(res.headers['x-preset-fit']), /^(exact|reduced)$/);
        const size = Number(res.headers['x-preset-size']);
        assert.ok(PRESETS[name].sizeMayShrink ? size <= PRESETS[name].size : size === PRESETS[name].size, `size ${size}`);
        // A variant like any other: asked again, it comes from the cache.
        const again = await t.app.inject({ url: `/stickers/${fid(file.replace(/\W/g, ''))}?preset=${name}` });
        assert.equal(again.headers['x-cache-status'], 'HIT');
        assert.ok(again.rawPayload.equals(res.rawPayload));
      }
    });
  }

  test('a sticker that cannot fit: 422 PRESET_UNFIT with the limit and the excess; preset with other options is a 400', async () => {
    // 8 s of noise (made by ffmpeg): over WhatsApp's 500 KB as animated WebP even at quality 20 and 5 fps
    // (WhatsApp takes 512 x 512 only: the size cannot give). At 30 fps its 512 px frames are more than a
    // thread holds: the search takes that as "too big" and goes on to fewer frames.
    const file = join(mkdtempSync(join(tmpdir(), 'sp-noise-')), 'noise.webm');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', "nullsrc=s=256x256:r=30,geq=lum='random(1)*255':cb=128:cr=128", '-t', '8', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M', '-pix_fmt', 'yuv420p', file]);
    assert.equal(made.status, 0, String(made.stderr));
    t.fake.add(fid('noise'), { data: readFileSync(file) });
    const res = await t.app.inject({ url: `/stickers/${fid('noise')}?preset=whatsapp` });
    assert.equal(res.statusCode, 422);
    assert.equal(res.json().code, 'PRESET_UNFIT');
    assert.match(res.json().message, /whatsapp preset: the smallest result \(quality 20, 5 fps, 512 px\) is \d+ bytes; the limit is 500000 bytes, \d+ bytes over/);
    // Asked directly as a GIF (whose encoder holds the frames), the 30 fps frames are too many: a 422 that
    // says so; at 5 fps it converts.
    const all = await t.app.inject({ url: `/stickers/${fid('noise')}?format=gif&size=512` });
    assert.equal(all.statusCode, 422);
    assert.equal(all.json().code, 'ANIMATION_TOO_LARGE');
    assert.equal((await t.app.inject({ url: `/stickers/${fid('noise')}?format=gif&size=512&fps=5` })).statusCode, 200);
    const mixed = await t.app.inject({ url: `/stickers/${fid('noise')}?preset=telegram&size=256` });
    assert.equal(mixed.statusCode, 400);
    assert.match(mixed.json().message, /give it without size/);
    assert.equal((await t.app.inject({ url: `/stickers/${fid('noise')}?preset=discord` })).statusCode, 400);
  });

  test('signal: a busy sticker, megabytes as lossless APNG, fits as a palette APNG (lossy), reported as reduced', async () => {
    t.fake.add(fid('busy2'), { data: fixture('sticker_02.tgs') });
    const res = await t.app.inject({ url: `/stickers/${fid('busy2')}?preset=signal` });
    assert.equal(res.statusCode, 200, res.payload);
    await assertFits('signal', res.rawPayload, true, 'signal of sticker_02.tgs');
    assert.equal(res.rawPayload[25], 3, 'IHDR colour type 3: a palette');
    assert.equal(res.headers['x-preset-fit'], 'reduced');
    assert.ok(Number(res.headers['x-preset-quality']) < 100, `quality ${res.headers['x-preset-quality']}`);
  });

  test('POST /convert takes preset too', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/convert?preset=telegram_emoji', payload: fixture('sticker_05.tgs'), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(res.statusCode, 200, res.payload);
    assert.equal(res.headers['x-preset'], 'telegram_emoji');
    await assertFits('telegram_emoji', res.rawPayload, true, 'upload');
  });
});

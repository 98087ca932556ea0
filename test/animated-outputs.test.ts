import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildTestApp, fixture, fid, type TestApp } from './helper.js';

const ffmpegMissing = spawnSync('ffmpeg', ['-version']).status === 0 ? undefined : 'ffmpeg is not installed (apt-get install ffmpeg)';
const WEBP = fixture('animated_webp_160x90_1s.webp'); // 24 frames, ~1 s (sticker-convert's sample)
const GIF = fixture('animated_gif_160x90_1s.gif'); // 24 frames, 1 s
const TRANSLUCENT_WEBP = fixture('translucent_96x64_1s.webp'); // 20 frames at 50 ms: alpha 68 everywhere but a moving opaque square (ffmpeg)
const TRANSLUCENT_WEBM = fixture('translucent_96x64_1s_vp9a.webm'); // the same as a VP9-with-alpha video sticker (ffmpeg)
const TGS = fixture('sticker_05.tgs');
const APNG = fixture('animated_apng_80x60_1s.png'); // 10 frames at 100 ms (ffmpeg's testsrc2) // 31 frames at 60 fps: 517 ms

/** What ffprobe (a decoder we did not write) says about a file's video stream. */
function probe(data: Buffer): { codec: string; width: number; height: number; frames: number; durationMs: number; alphaMode?: string; pixFmt: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'sp-probe-')), 'f');
  writeFileSync(file, data);
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames,pix_fmt:stream_tags=alpha_mode:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout) as { streams: Array<Record<string, string | number | Record<string, string>>>; format: { duration: string } };
  const s = j.streams[0];
  const tags = (s.tags ?? {}) as Record<string, string>;
  return { codec: s.codec_name as string, width: s.width as number, height: s.height as number, frames: Number(s.nb_read_frames), durationMs: Number(j.format.duration) * 1000, alphaMode: tags.alpha_mode ?? tags.ALPHA_MODE, pixFmt: s.pix_fmt as string };
}

/** Frames and total delay of an animated WebP or GIF, as libvips reads them. */
async function frames(data: Buffer): Promise<{ format?: string; pages: number; durationMs: number; width?: number; height?: number }> {
  const m = await sharp(data, { animated: true }).metadata();
  return { format: m.format, pages: m.pages ?? 1, durationMs: (m.delay ?? []).reduce((a, b) => a + b, 0), width: m.width, height: m.pageHeight ?? m.height };
}

/** Share of a frame's pixels that are not fully transparent. */
async function coverage(data: Buffer, page = 0): Promise<number> {
  const px = await sharp(data, { page }).ensureAlpha().raw().toBuffer();
  let visible = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) visible++;
  return visible / (px.length / 4);
}

describe('animated inputs stay animated', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    t.fake.add(fid('awebp'), { data: WEBP }).add(fid('agif'), { data: GIF }).add(fid('twebp'), { data: TRANSLUCENT_WEBP }).add(fid('still'), { data: fixture('static_png_RGBA_80x60.png') });
  });
  after(() => t.close());
  const get = (id: string, q: string) => t.app.inject({ url: `/stickers/${fid(id)}?${q}` });

  test('animated WebP to GIF and GIF to WebP: every frame, the source timing (within a frame), the size asked', async () => {
    const source = { webp: await frames(WEBP), gif: await frames(GIF) };
    for (const [id, format, src] of [['awebp', 'gif', source.webp], ['agif', 'webp', source.gif], ['awebp', 'webp', source.webp]] as const) {
      const res = await get(id, `format=${format}&size=80${id === 'awebp' && format === 'webp' ? '&quality=70' : ''}`);
      assert.equal(res.statusCode, 200, res.payload);
      assert.equal(res.headers['content-type'], `image/${format}`);
      const out = await frames(res.rawPayload);
      assert.equal(out.format, format);
      assert.deepEqual([out.width, out.height], [80, 45]);
      assert.ok(out.pages > 1 && out.pages <= src.pages, `${id} -> ${format}: ${out.pages} of ${src.pages} frames (repeats merged)`);
      assert.equal(Number(res.headers['x-output-frames']), out.pages);
      const frame = src.durationMs / src.pages;
      assert.ok(Math.abs(out.durationMs - src.durationMs) <= frame, `${id} -> ${format}: ${out.durationMs} ms against ${src.durationMs}`);
    }
  });

  test('animated GIF to APNG: ffprobe counts the frames and the duration', { skip: ffmpegMissing }, async () => {
    const res = await get('agif', 'format=apng');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/apng');
    const p = probe(res.rawPayload);
    assert.equal(p.codec, 'apng');
    assert.deepEqual([p.width, p.height], [160, 90]);
    const src = await frames(GIF);
    assert.ok(p.frames > 1 && p.frames <= src.pages, `${p.frames} frames`);
  });

  test('APNG is lossless RGBA by default; quality under 100 makes a palette APNG (one PLTE/tRNS for every frame): same frames, fewer bytes, close to the lossless', { skip: ffmpegMissing }, async () => {
    const lossless = await get('agif', 'format=apng');
    const palette = await get('agif', 'format=apng&quality=60');
    assert.equal(palette.statusCode, 200, palette.payload);
    assert.equal(lossless.rawPayload[25], 6, 'IHDR colour type 6: RGBA');
    assert.equal(palette.rawPayload[25], 3, 'IHDR colour type 3: a palette');
    const [a, b] = [probe(lossless.rawPayload), probe(palette.rawPayload)];
    const count = (type: string) => palette.rawPayload.toString('latin1').split(type).length - 1;
    assert.deepEqual([count('PLTE'), count('tRNS')], [1, 1], 'one palette for the whole animation');
    assert.equal(b.frames, a.frames);
    assert.ok(palette.rawPayload.length < lossless.rawPayload.length, `${palette.rawPayload.length} against ${lossless.rawPayload.length} bytes`);
    // ffmpeg composes both; the palette's frames stay close to the lossless ones (rgba, on black and white).
    const decode = (data: Buffer) => {
      const file = join(mkdtempSync(join(tmpdir(), 'sp-apng-')), 'a.png');
      writeFileSync(file, data);
      return spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'], { maxBuffer: 1 << 28 }).stdout;
    };
    const [x, y] = [decode(lossless.rawPayload), decode(palette.rawPayload)];
    assert.equal(x.length, y.length);
    let se = 0;
    for (let i = 0; i < x.length; i += 4) for (let c = 0; c < 3; c++) for (const bg of [0, 255]) se += ((x[i + c] * x[i + 3] + bg * (255 - x[i + 3])) / 255 - (y[i + c] * y[i + 3] + bg * (255 - y[i + 3])) / 255) ** 2;
    const psnr = 10 * Math.log10((255 * 255) / (se / ((x.length / 4) * 6)));
    assert.ok(psnr > 30, `PSNR ${psnr.toFixed(1)} dB`);
  });

  test('fps for an animated image: frames resampled to it, the duration kept', async () => {
    const src = await frames(GIF); // 24 frames in 1 s
    const res = await get('agif', 'format=webp&fps=8');
    assert.equal(res.statusCode, 200, res.payload);
    const out = await frames(res.rawPayload);
    assert.ok(out.pages <= 8 && out.pages > 1, `${out.pages} frames`);
    assert.ok(Math.abs(out.durationMs - src.durationMs) <= 1000 / 8, `${out.durationMs} ms against ${src.durationMs}`);
    assert.ok(Math.min(...((await sharp(res.rawPayload, { animated: true }).metadata()).delay ?? [])) >= 1000 / 8 - 1, 'no frame shorter than a tick');
  });

  test('format=png takes frame for an animated image: the page libvips decodes; past the last is a 400', async () => {
    const res = await get('awebp', 'format=png&frame=12');
    assert.equal(res.statusCode, 200);
    const ours = await sharp(res.rawPayload).ensureAlpha().raw().toBuffer();
    const theirs = await sharp(WEBP, { page: 12 }).ensureAlpha().raw().toBuffer();
    assert.ok(ours.equals(theirs), 'frame 12 exactly');
    const first = await sharp((await get('awebp', 'format=png')).rawPayload).ensureAlpha().raw().toBuffer();
    assert.ok(!first.equals(ours), 'frame 0 differs from frame 12');
    const past = await get('awebp', 'format=png&frame=24');
    assert.equal(past.statusCode, 400);
    assert.equal(past.json().code, 'INVALID_PARAMETER');
    assert.match(past.json().message, /frame.*0 to 23/);
  });

  test('an animated PNG (made by ffmpeg) stays animated: its frames composed by ffmpeg, its delays from its chunks; frame k is ffmpeg\'s frame k', { skip: ffmpegMissing }, async () => {
    t.fake.add(fid('apng'), { data: APNG });
    for (const format of ['gif', 'webp']) {
      const res = await get('apng', `format=${format}`);
      assert.equal(res.statusCode, 200, res.payload);
      const out = await frames(res.rawPayload);
      assert.deepEqual([out.format, out.pages, out.durationMs, out.width, out.height], [format, 10, 1000, 80, 60]);
    }
    const webm = probe((await get('apng', 'format=webm')).rawPayload);
    assert.equal(webm.codec, 'vp9');
    assert.ok(Math.abs(webm.durationMs - 1000) <= 34, `${webm.durationMs}`);
    const png = await get('apng', 'format=png&frame=5');
    const file = join(mkdtempSync(join(tmpdir(), 'sp-apng-')), 'a.png');
    writeFileSync(file, APNG);
    const theirs = spawnSync('ffmpeg', ['-v', 'error', '-f', 'apng', '-i', file, '-vf', 'select=eq(n\\,5)', '-frames:v', '1', '-pix_fmt', 'rgba', '-f', 'rawvideo', '-'], { maxBuffer: 1 << 24 }).stdout;
    assert.ok((await sharp(png.rawPayload).ensureAlpha().raw().toBuffer()).equals(theirs), 'frame 5 as ffmpeg composes it');
    assert.equal((await get('apng', 'format=png&frame=10')).statusCode, 400);
  });

  test('a still image stays a still: APNG of it is its PNG; WebM of it is a 400', { skip: ffmpegMissing }, async () => {
    const apng = await get('still', 'format=apng');
    assert.equal(apng.statusCode, 200);
    assert.equal(apng.headers['content-type'], 'image/png');
    const webm = await get('still', 'format=webm');
    assert.equal(webm.statusCode, 400);
    assert.match(webm.json().message, /one frame/);
  });

  test('GIF of a translucent animation: dithered by default (never blank), threshold on request, composite with background', async () => {
    const dither = await get('twebp', 'format=gif');
    assert.equal(dither.statusCode, 200);
    // 27 % of the translucent area (alpha 68) plus the opaque square (576 of 6144 pixels).
    const c = await coverage(dither.rawPayload);
    assert.ok(c > 0.25 && c < 0.45, `dithered coverage ${c.toFixed(3)}`);
    const threshold = await get('twebp', 'format=gif&gif_alpha=threshold');
    const ct = await coverage(threshold.rawPayload);
    assert.ok(Math.abs(ct - 576 / 6144) < 0.02, `threshold keeps only the opaque square: ${ct.toFixed(3)}`);
    const onWhite = await get('twebp', 'format=gif&background=ffffff');
    assert.equal(await coverage(onWhite.rawPayload), 1);
    const px = await sharp(onWhite.rawPayload).raw().toBuffer();
    // Red at alpha 68 over white: 255, 255 - 0.73 * (255 - 48)... a pink, not red and not white.
    assert.ok(px[0] > 200 && px[1] > 150 && px[1] < 230, `composited ${[...px.subarray(0, 3)]}`);
    assert.equal((await get('twebp', 'format=webp&gif_alpha=dither')).statusCode, 400, 'gif_alpha is for GIF only');
  });
});

describe('Lottie and animations to video', { skip: ffmpegMissing }, () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    t.fake.add(fid('tgs'), { data: TGS }).add(fid('awebp'), { data: WEBP }).add(fid('twebm'), { data: TRANSLUCENT_WEBM });
  });
  after(() => t.close());
  const get = (id: string, q: string) => t.app.inject({ url: `/stickers/${fid(id)}?${q}` });

  test('TGS to WebM: VP9 with alpha, the sticker\'s size, every frame at its rate, its duration', async () => {
    const res = await get('tgs', 'format=webm');
    assert.equal(res.statusCode, 200, res.payload);
    assert.equal(res.headers['content-type'], 'video/webm');
    const p = probe(res.rawPayload);
    assert.equal(p.codec, 'vp9');
    assert.equal(p.alphaMode, '1', 'an alpha plane');
    assert.deepEqual([p.width, p.height], [512, 512]);
    assert.equal(p.frames, 31);
    assert.ok(Math.abs(p.durationMs - 517) <= 1000 / 60, `duration ${p.durationMs}`);
    assert.equal(res.headers['x-output-frames'], '31');
  });

  test('TGS to MP4: H.264 yuv420p on white by default, on the background asked for', async () => {
    for (const [q, corner] of [['format=mp4&size=256', [255, 255, 255]], ['format=mp4&size=256&background=000080', [0, 0, 128]]] as const) {
      const res = await get('tgs', q);
      assert.equal(res.statusCode, 200, res.payload);
      assert.equal(res.headers['content-type'], 'video/mp4');
      const p = probe(res.rawPayload);
      assert.deepEqual([p.codec, p.pixFmt, p.width, p.height], ['h264', 'yuv420p', 256, 256]);
      assert.ok(Math.abs(p.durationMs - 517) <= 1000 / 60 + 1, `duration ${p.durationMs}`);
      const file = join(mkdtempSync(join(tmpdir(), 'sp-mp4-')), 'a.mp4');
      writeFileSync(file, res.rawPayload);
      const px = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 24 }).stdout;
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(px[c] - corner[c]) <= 6, `${q}: corner ${[...px.subarray(0, 3)]}`);
    }
  });

  test('animated WebP to WebM and MP4, with its duration', async () => {
    const src = await frames(WEBP);
    for (const format of ['webm', 'mp4']) {
      const res = await get('awebp', `format=${format}`);
      assert.equal(res.statusCode, 200, res.payload);
      const p = probe(res.rawPayload);
      assert.equal(p.codec, format === 'webm' ? 'vp9' : 'h264');
      assert.ok(Math.abs(p.durationMs - src.durationMs) <= 1000 / 30 + 1, `${format}: ${p.durationMs} ms against ${src.durationMs}`);
    }
  });

  test('a translucent video sticker to GIF is not blank (dithered), with the video\'s frames and timing', async () => {
    const res = await get('twebm', 'format=gif');
    assert.equal(res.statusCode, 200);
    const out = await frames(res.rawPayload);
    assert.equal(out.pages, 20);
    assert.equal(out.durationMs, 1000);
    const c = await coverage(res.rawPayload);
    assert.ok(c > 0.25 && c < 0.45, `coverage ${c.toFixed(3)}`);
    const threshold = await get('twebm', 'format=gif&gif_alpha=threshold');
    assert.ok((await coverage(threshold.rawPayload)) < 0.12, 'threshold: the translucent area is gone, as asked');
  });
});

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestApp, fixture, fid, type TestApp } from './helper.js';
import { readApng } from '../src/convert/png-chunks.js';

const TGS = fixture('sticker_01.tgs'); // 512x448, 180 frames
const WEBP = fixture('static_webp_800x600.webp');
const WEBM = fixture('animated_webm_161x121_2s_vp9a.webm');
const ffmpegMissing =
  ['ffmpeg', 'ffprobe'].every((tool) => spawnSync(tool, ['-version'], { stdio: 'ignore' }).status === 0) ? undefined : 'ffmpeg/ffprobe are not installed (apt-get install ffmpeg); skipping the APNG check by a second decoder';

describe('GET /stickers/:fileId?format=png', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ MAX_OUTPUT_SIZE: '1024' });
    t.fake.add(fid('tgs'), { data: TGS }).add(fid('webp'), { data: WEBP }).add(fid('webm'), { data: WEBM });
  });
  after(() => t.close());
  const get = (q: string, id = 'tgs') => t.app.inject({ url: `/stickers/${fid(id)}?${q}` });

  test('renders one frame of a TGS, keeping the aspect ratio, read back by libvips', async () => {
    const res = await get('format=png');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(res.headers['x-output-format'], 'png');
    assert.equal(res.headers['x-original-format'], 'tgs');
    assert.equal(res.headers['x-is-converted'], 'true');
    assert.deepEqual([res.headers['x-output-width'], res.headers['x-output-height'], res.headers['x-output-frames']], ['512', '448', '1']);
    const meta = await sharp(res.rawPayload).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.hasAlpha], ['png', 512, 448, true]);
    // A real drawing: opaque pixels in the middle, transparent corners.
    const { data, info } = await sharp(res.rawPayload).raw().toBuffer({ resolveWithObject: true });
    const alphaAt = (x: number, y: number) => data[(y * info.width + x) * 4 + 3];
    assert.equal(alphaAt(256, 224), 255);
    assert.equal(alphaAt(0, 0), 0);
  });

  test('size, frame and background; equal variants in any parameter order are one cache entry', async () => {
    const a = await get('format=png&size=128&frame=90&background=ffffff');
    assert.equal(a.statusCode, 200);
    assert.equal(a.headers['x-cache-status'], 'MISS');
    const meta = await sharp(a.rawPayload).metadata();
    assert.deepEqual([meta.width, meta.height], [128, 112]);
    const { data } = await sharp(a.rawPayload).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([...data.subarray(0, 4)], [255, 255, 255, 255], 'the corner is the background colour');
    const b = await get('background=%23fff&frame=90&size=128&format=png');
    assert.equal(b.headers['x-cache-status'], 'HIT');
    assert.deepEqual(b.rawPayload, a.rawPayload);
    const other = await get('format=png&size=128&frame=0');
    assert.notDeepEqual(other.rawPayload, a.rawPayload);
  });

  test('a static WebP converts to PNG within size', async () => {
    const res = await get('format=png&size=200', 'webp');
    assert.equal(res.statusCode, 200);
    const meta = await sharp(res.rawPayload).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 200, 150]);
  });

  test('format=original gives the TGS bytes as Telegram has them', async () => {
    const res = await get('format=original');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/x-tgsticker');
    assert.equal(res.headers['content-encoding'], undefined);
    assert.deepEqual(res.rawPayload, TGS);
  });

  test('bad parameters are 400 naming the parameter and the allowed range; impossible requests say why', async () => {
    const cases: Array<[string, string, number, RegExp]> = [
      ['format=bmp', 'tgs', 400, /"format": one of original, lottie, png, webp, gif, apng, webm, mp4, auto/],
      ['format=webp&frame=2', 'tgs', 400, /frame applies to format=png/],
      ['format=webp&quality=0', 'tgs', 400, /"quality": a decimal integer from 1 to 100/],
      ['format=png&fps=10', 'tgs', 400, /fps and quality apply to animated and lossy formats/],
      ['format=png&size=8', 'tgs', 400, /"size": a decimal integer from 16 to 1024/],
      ['format=png&size=4096', 'tgs', 400, /"size": a decimal integer from 16 to 1024/],
      ['format=png&size=1e2', 'tgs', 400, /"size": a decimal integer/],
      ['format=png&size=0x100', 'tgs', 400, /"size": a decimal integer/],
      ['format=png&size=%2B128', 'tgs', 400, /"size": a decimal integer/],
      ['format=png&size=128.0', 'tgs', 400, /"size": a decimal integer/],
      ['format=png&size=0128', 'tgs', 400, /"size": a decimal integer/],
      ['format=png&size=', 'tgs', 400, /"size": a decimal integer/],
      ['format[]=png', 'tgs', 400, /"format\[\]": array syntax is not accepted/],
      ['format=png&format=webp', 'tgs', 400, /"format": given more than once/],
      ['format=png&frame=180', 'tgs', 400, /"frame": an integer from 0 to 179 for this sticker/],
      ['format=png&frame=-1', 'tgs', 400, /"frame"/],
      ['format=png&background=red', 'tgs', 400, /"background"/],
      ['format=lottie', 'webp', 400, /needs an animated \(TGS\) sticker/],
      ['size=64', 'tgs', 400, /apply to converted formats/],
      ['format=png&frame=2', 'webm', 400, /frame applies to animated \(TGS\) stickers/],
      ['format=apng&frame=1', 'webp', 400, /frame applies to format=png/],
      ['format=png&frame=1', 'webp', 400, /"frame": an integer from 0 to 0 for this image/],
      ['format=webm&size=64', 'webm', 400, /served as it is in WebM/],
      ['format=png&gif_alpha=dither', 'tgs', 400, /gif_alpha applies to format=gif/],
      ['format=gif&gif_alpha=half', 'tgs', 400, /"gif_alpha": dither \(default\) or threshold/],
    ];
    for (const [q, id, status, re] of cases) {
      const res = await get(q, id);
      assert.equal(res.statusCode, status, q);
      assert.match(JSON.parse(res.payload).message, re, q);
    }
  });

  test('format=webp: the whole animation, looping forever, with the source timing at any fps (read back by libvips)', async () => {
    const full = await get('format=webp&size=128');
    assert.equal(full.statusCode, 200);
    assert.equal(full.headers['content-type'], 'image/webp');
    let meta = await sharp(full.rawPayload, { animated: true }).metadata();
    assert.deepEqual([meta.width, meta.pageHeight, meta.pages, meta.loop], [128, 112, 180, 0]);
    assert.equal(meta.delay!.reduce((a, b) => a + b, 0), 3000, '180 frames at 60 fps last 3 s');
    assert.equal(full.headers['x-output-duration-ms'], '3000');

    const half = await get('format=webp&size=128&fps=20');
    meta = await sharp(half.rawPayload, { animated: true }).metadata();
    assert.equal(meta.pages, 60);
    assert.equal(meta.delay!.reduce((a, b) => a + b, 0), 3000, 'fewer frames, same playback speed');

    // Above the source rate is clamped to it: the same variant as fps=60.
    const over = await get('format=webp&size=128&fps=240');
    assert.equal(over.headers['x-cache-status'], 'HIT');
    assert.deepEqual(over.rawPayload, full.rawPayload);
  });

  test('format=gif: capped at 50 fps with the source timing, binary transparency or a solid background', async () => {
    const res = await get('format=gif&size=128');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/gif');
    const meta = await sharp(res.rawPayload, { animated: true }).metadata();
    assert.deepEqual([meta.format, meta.width, meta.pageHeight, meta.pages, meta.loop], ['gif', 128, 112, 150, 0]);
    assert.equal(meta.delay!.reduce((a, b) => a + b, 0), 3000, '60 fps source at 50 fps: 150 frames, still 3 s');
    // Frame 90 decoded by libvips: transparent corner, opaque centre, nothing left over from earlier frames.
    const { data, info } = await sharp(res.rawPayload, { page: 90 }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const alpha = (x: number, y: number) => data[(y * info.width + x) * 4 + 3];
    assert.equal(alpha(0, 0), 0);
    assert.equal(alpha(64, 56), 255);
    assert.ok([...data].every((v, i) => i % 4 !== 3 || v === 0 || v === 255), 'alpha is binary');

    const white = await get('format=gif&size=128&background=fff&fps=25');
    const w = await sharp(white.rawPayload, { animated: true }).metadata();
    assert.equal(w.pages, 75);
    assert.equal(w.delay!.reduce((a, b) => a + b, 0), 3000);
    const first = await sharp(white.rawPayload, { page: 0 }).ensureAlpha().raw().toBuffer();
    assert.deepEqual([...first.subarray(0, 4)], [255, 255, 255, 255]);
  });

  test('format=apng: frame count, endless looping and delays read from its chunks; libvips decodes the first frame', async () => {
    const res = await get('format=apng&size=64&fps=30');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/apng');
    const info = readApng(res.rawPayload);
    assert.deepEqual([info.width, info.height, info.frames, info.plays, info.delaysMs.length], [64, 56, 90, 0, 90]);
    assert.equal(info.delaysMs.reduce((a, b) => a + b, 0), 3000);
    // libvips reads the first frame as a plain PNG.
    const meta = await sharp(res.rawPayload).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 64, 56]);
    const first = await sharp(res.rawPayload).raw().toBuffer(); // decodes the image data, not just the header
    assert.equal(first.length, 64 * 56 * 4);
  });

  test('format=apng: ffmpeg decodes every frame, and a composed frame equals the PNG of that frame', { skip: ffmpegMissing }, async () => {
    const res = await get('format=apng&size=64&fps=30');
    const file = join(mkdtempSync(join(tmpdir(), 'sp-apng-')), 'a.png');
    writeFileSync(file, res.rawPayload);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-f', 'apng', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    assert.equal(probe.status, 0, probe.stderr);
    assert.equal(probe.stdout.trim(), '90');
    // Frames after the first are changed rectangles only: ffmpeg's composed frame 45 (source frame 90 at
    // 30 of 60 fps) must equal the PNG of that frame, pixel for pixel (both lossless).
    const raw = spawnSync('ffmpeg', ['-v', 'error', '-f', 'apng', '-i', file, '-vf', 'select=eq(n\\,45)', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1']);
    const png = await sharp((await get('format=png&size=64&frame=90')).rawPayload).ensureAlpha().raw().toBuffer();
    assert.equal(raw.stdout.length, png.length);
    assert.ok(raw.stdout.equals(png), 'the composed frame equals the rendered one');
  });

  test('format=apng of a static image is its PNG (one frame is what an APNG decoder shows)', async () => {
    const res = await get('format=apng&size=100', 'webp');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    const meta = await sharp(res.rawPayload).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 100, 75]);
    assert.equal(res.headers['x-output-format'], 'png');
    assert.equal(res.headers['x-output-frames'], '1');
  });

  test('format=webp of a static WebP resizes it; without parameters it is the original file', async () => {
    const small = await get('format=webp&size=100', 'webp');
    const meta = await sharp(small.rawPayload).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 100, 75]);
    const same = await get('format=webp', 'webp');
    assert.deepEqual(same.rawPayload, WEBP);
  });

  test('format=auto follows the Accept header and says so with Vary: Accept', async () => {
    const browser = await t.app.inject({ url: `/stickers/${fid('tgs')}?format=auto&size=64`, headers: { accept: 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8' } });
    assert.equal(browser.headers['content-type'], 'image/webp');
    assert.match(String(browser.headers.vary), /Accept/);
    const gifOnly = await t.app.inject({ url: `/stickers/${fid('tgs')}?format=auto&size=64`, headers: { accept: 'image/gif, image/webp;q=0' } });
    assert.equal(gifOnly.headers['content-type'], 'image/gif');
    const api = await t.app.inject({ url: `/stickers/${fid('tgs')}?format=auto`, headers: { accept: 'application/json' } });
    assert.equal(api.headers['x-output-format'], 'lottie');
    const anything = await t.app.inject({ url: `/stickers/${fid('tgs')}?format=auto&size=64`, headers: { accept: '*/*' } });
    assert.equal(anything.headers['content-type'], 'image/png', 'no explicit type: an image was asked for by size, so PNG');
  });

  test('unknown query parameters are ignored', async () => {
    const res = await get('v=2');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-output-format'], 'lottie');
  });
});

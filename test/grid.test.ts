import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { buildTestApp, fixture, fid, type TestApp } from './helper.js';

const sticker = (id: string, i: number, extra: Record<string, unknown> = {}) => ({ file_id: id, file_unique_id: `g${i}`, type: 'regular', width: 512, height: 512, is_animated: true, is_video: false, ...extra });

/** A cell of a grid image as raw RGBA. */
async function cell(grid: Buffer, index: number, columns: number, tile: number): Promise<Buffer> {
  const left = (index % columns) * tile;
  const top = Math.floor(index / columns) * tile;
  return sharp(grid).extract({ left, top, width: tile, height: tile }).ensureAlpha().raw().toBuffer();
}

/** A PNG centred on a transparent tile x tile canvas, as raw RGBA: what a grid cell must hold. */
async function centred(png: Buffer, tile: number): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(png).metadata();
  const input = { input: png, left: Math.floor((tile - width) / 2), top: Math.floor((tile - height) / 2) };
  return sharp({ create: { width: tile, height: tile, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).composite([input]).raw().toBuffer();
}

const opaquePixels = (raw: Buffer) => raw.filter((_, i) => i % 4 === 3 && raw[i] > 0).length;

describe('grids: GET /sticker-sets/:name/grid and POST /stickers/combine', () => {
  let t: TestApp;
  const ids = { tgs: fid('grid_tgs'), webp: fid('grid_webp'), webm: fid('grid_webm'), bad: fid('grid_bad'), thumb: fid('grid_thumb') };
  before(async () => {
    t = await buildTestApp({ MAX_GRID_STICKERS: '4', MAX_GRID_PIXELS: String(512 * 512) });
    t.fake
      .add(ids.tgs, { data: fixture('sticker_05.tgs') })
      .add(ids.webp, { data: fixture('static_webp_800x600.webp') })
      .add(ids.webm, { data: fixture('animated_webm_161x121_2s_vp9a.webm') })
      .add(ids.bad, { data: gzipSync(Buffer.from('{"not": "lottie"')) })
      .add(ids.thumb, { data: fixture('static_png_RGBA_80x60.png') });
    t.fake.sets.set('Grid', { name: 'Grid', title: 'Grid', sticker_type: 'regular', stickers: [sticker(ids.tgs, 0, { thumbnail: { file_id: ids.thumb, file_unique_id: 'th', width: 80, height: 60 } }), sticker(ids.webp, 1, { is_animated: false }), sticker(ids.webm, 2, { is_animated: false, is_video: true })] });
    t.fake.sets.set('Hostile', { name: 'Hostile', title: 'Hostile', sticker_type: 'regular', stickers: [sticker(ids.tgs, 0), sticker(ids.bad, 1), sticker(fid('grid_gone'), 2)] });
    t.fake.sets.set('Five', { name: 'Five', title: 'Five', sticker_type: 'regular', stickers: [0, 1, 2, 3, 4].map((i) => sticker(ids.tgs, i)) });
  });
  after(() => t.close());

  test("a set's first frames in a grid, row by row, each the sticker's own PNG at the tile size, centred; the cell past the last empty", async () => {
    const res = await t.app.inject({ url: '/sticker-sets/Grid/grid?tile=96&format=png' });
    assert.equal(res.statusCode, 200, res.payload);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(res.headers['x-grid-columns'], '2');
    assert.equal(res.headers['x-grid-failed'], undefined);
    assert.match(String(res.headers['cache-control']), /public, max-age=300/);
    const meta = await sharp(res.rawPayload).metadata();
    assert.deepEqual([meta.width, meta.height], [192, 192]);
    for (const [index, id] of [ids.tgs, ids.webp, ids.webm].entries()) {
      const own = await t.app.inject({ url: `/stickers/${id}?format=png&size=96` });
      assert.equal(own.statusCode, 200, own.payload);
      assert.deepEqual(await cell(res.rawPayload, index, 2, 96), await centred(own.rawPayload, 96), `cell ${index}`);
    }
    assert.equal(opaquePixels(await cell(res.rawPayload, 3, 2, 96)), 0);
    // On a background (the Python service's grids were white): the empty cell is that colour, opaque.
    const white = await t.app.inject({ url: '/sticker-sets/Grid/grid?tile=96&format=png&background=ffffff' });
    const empty = await cell(white.rawPayload, 3, 2, 96);
    assert.ok(empty.every((v) => v === 255), 'the empty cell is opaque white');
    const bad = await t.app.inject({ url: '/sticker-sets/Grid/grid?background=white' });
    assert.deepEqual([bad.statusCode, bad.json().code], [400, 'INVALID_PARAMETER']);
  });

  test('a grid is kept: asked again it comes from the memory tier (no tile, no thread), and revalidates with its ETag', async () => {
    const first = await t.app.inject({ url: '/sticker-sets/Grid/grid?tile=80&format=png' });
    assert.equal(first.headers['x-cache-status'], 'MISS');
    const completed = t.app.pool.stats.completed;
    t.fake.resetCounts();
    const again = await t.app.inject({ url: '/sticker-sets/Grid/grid?tile=80&format=png' });
    assert.deepEqual([again.statusCode, again.headers['x-cache-status'], again.headers['x-grid-columns']], [200, 'HIT', '2']);
    assert.deepEqual(again.rawPayload, first.rawPayload);
    assert.equal(t.app.pool.stats.completed, completed, 'no thread composed it again');
    assert.equal(t.fake.calls.getFile, 0);
    const revalidated = await t.app.inject({ url: '/sticker-sets/Grid/grid?tile=80&format=png', headers: { 'if-none-match': String(first.headers.etag) } });
    assert.equal(revalidated.statusCode, 304);
    const other = await t.app.inject({ url: '/sticker-sets/Grid/grid?tile=80&format=png&columns=3' });
    assert.equal(other.headers['x-cache-status'], 'MISS', 'another layout is another grid');
  });

  test('WebP by default; columns as asked; image_type=thumbnail draws the thumbnails (the sticker where there is none)', async () => {
    const res = await t.app.inject({ url: '/sticker-sets/Grid/grid?tile=64&columns=3' });
    assert.equal(res.statusCode, 200, res.payload);
    const meta = await sharp(res.rawPayload).metadata();
    assert.deepEqual([res.headers['content-type'], meta.format, meta.width, meta.height], ['image/webp', 'webp', 192, 64]);
    t.fake.resetCounts();
    const thumbs = await t.app.inject({ url: '/sticker-sets/Grid/grid?tile=64&columns=3&image_type=thumbnail&format=png' });
    assert.equal(thumbs.statusCode, 200, thumbs.payload);
    assert.equal(t.fake.calls.getFile, 1, 'only the thumbnail was new');
    const thumb = await t.app.inject({ url: `/stickers/${ids.thumb}?format=png&size=64` });
    assert.deepEqual(await cell(thumbs.rawPayload, 0, 3, 64), await centred(thumb.rawPayload, 64));
  });

  test('hostile members leave their cells empty and are named in X-Grid-Failed; such a grid is not to be cached', async () => {
    const res = await t.app.inject({ url: '/sticker-sets/Hostile/grid?tile=64&format=png' });
    assert.equal(res.statusCode, 200, res.payload);
    assert.equal(res.headers['x-grid-failed'], '1:CORRUPT_STICKER,2:TELEGRAM_BAD_REQUEST');
    assert.equal(res.headers['cache-control'], 'no-store');
    const again = await t.app.inject({ url: '/sticker-sets/Hostile/grid?tile=64&format=png' });
    assert.deepEqual([again.headers['x-cache-status'], again.headers['x-grid-failed']], ['MISS', '1:CORRUPT_STICKER,2:TELEGRAM_BAD_REQUEST'], 'a grid with holes is not kept');
    assert.ok(opaquePixels(await cell(res.rawPayload, 0, 2, 64)) > 0);
    assert.equal(opaquePixels(await cell(res.rawPayload, 1, 2, 64)), 0);
  });

  test('limits: a set over MAX_GRID_STICKERS unless max_stickers takes fewer, MAX_GRID_PIXELS, bad parameters; nothing asked of Telegram for a bad query', async () => {
    const five = await t.app.inject({ url: '/sticker-sets/Five/grid?tile=32' });
    assert.deepEqual([five.statusCode, five.json().code], [422, 'GRID_TOO_LARGE']);
    assert.match(five.json().message, /max_stickers=4/);
    const first4 = await t.app.inject({ url: '/sticker-sets/Five/grid?tile=32&max_stickers=4' });
    assert.equal(first4.statusCode, 200, first4.payload);
    const capped = await t.app.inject({ url: '/sticker-sets/Five/grid?tile=32&max_stickers=5' });
    assert.deepEqual([capped.statusCode, capped.json().code], [422, 'GRID_TOO_LARGE'], 'max_stickers is a cap: five are still five');
    const huge = await t.app.inject({ url: '/sticker-sets/Five/grid?tile=512&max_stickers=2' });
    assert.deepEqual([huge.statusCode, huge.json().code], [422, 'GRID_TOO_LARGE']);
    t.fake.resetCounts();
    for (const q of ['tile=8', 'tile=100000', 'tile=1e2', 'columns=0', 'format=gif', 'image_type=big', 'max_stickers=0']) {
      const res = await t.app.inject({ url: `/sticker-sets/Five/grid?${q}` });
      assert.deepEqual([res.statusCode, res.json().code], [400, 'INVALID_PARAMETER'], q);
    }
    assert.equal(t.fake.getStickerSetCalls, 0);
  });

  test('POST /stickers/combine: the same grid from a list of file ids; too many ids, a bad id or field, a body that is not JSON: 400 before any work', async () => {
    const combine = (body: unknown, type = 'application/json') => t.app.inject({ method: 'POST', url: '/stickers/combine', headers: { 'content-type': type }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
    const res = await combine({ file_ids: [ids.webp, ids.tgs], tile_size: 64, format: 'png' });
    assert.equal(res.statusCode, 200, res.payload);
    assert.equal(res.headers['cache-control'], 'no-store');
    const own = await t.app.inject({ url: `/stickers/${ids.webp}?format=png&size=64` });
    assert.deepEqual(await cell(res.rawPayload, 0, 2, 64), await centred(own.rawPayload, 64));
    t.fake.resetCounts();
    const bad: Array<[unknown, number, string]> = [
      [{ file_ids: Array(5).fill(ids.tgs) }, 400, 'INVALID_BODY'],
      [{ file_ids: [] }, 400, 'INVALID_BODY'],
      [{ file_ids: [ids.tgs], tile_size: 4 }, 400, 'INVALID_BODY'],
      [{ file_ids: [ids.tgs], format: 'gif' }, 400, 'INVALID_BODY'],
      [{ file_ids: 'x' }, 400, 'INVALID_BODY'],
      [{ file_ids: ['../../etc'] }, 400, 'INVALID_FILE_ID'],
      [{ file_ids: [ids.tgs, ids.tgs, ids.tgs, ids.tgs], tile_size: 512 }, 422, 'GRID_TOO_LARGE'],
      ['{"file_ids": [', 400, 'FST_ERR_CTP_INVALID_JSON_BODY'],
    ];
    for (const [body, status, code] of bad) {
      const r = await combine(body);
      assert.deepEqual([r.statusCode, r.json().code], [status, code], JSON.stringify(body));
    }
    const text = await combine('file_ids', 'text/plain');
    assert.equal(text.statusCode, 415);
    assert.equal(t.fake.calls.getFile, 0);
  });

  test("POST /stickers/combine-from-set: the Python service's route and body (name or url, image_type, tile_size, max_stickers), with its headers", async () => {
    const post = (payload: unknown) => t.app.inject({ method: 'POST', url: '/stickers/combine-from-set', payload: payload as Record<string, unknown> });
    const res = await post({ url: 'https://t.me/addstickers/Grid', image_type: 'thumb', tile_size: 64, max_stickers: 2, format: 'png' });
    assert.equal(res.statusCode, 200, res.payload);
    assert.deepEqual(
      ['x-sticker-set-name', 'x-image-type', 'x-tile-size', 'x-images-combined', 'x-images-failed', 'cache-control'].map((h) => res.headers[h]),
      ['Grid', 'thumbnail', '64', '2', '0', 'no-store'],
    );
    const viaGet = await t.app.inject({ url: '/sticker-sets/Grid/grid?tile=64&image_type=thumbnail&max_stickers=2&format=png' });
    assert.deepEqual(viaGet.rawPayload, res.rawPayload, 'the same grid as the GET route');
    const byName = await post({ name: 'Grid' });
    assert.deepEqual([byName.statusCode, byName.headers['content-type'], byName.headers['x-image-type']], [200, 'image/webp', 'main']);
    for (const [body, field] of [[{}, 'name'], [{ name: 'Grid', image_type: 'big' }, 'image_type'], [{ name: 'Grid', tile_size: '64' }, 'tile_size'], [{ name: 'Grid', max_stickers: 0 }, 'max_stickers']] as const) {
      const bad = await post(body);
      assert.deepEqual([bad.statusCode, bad.json().code], [400, 'INVALID_BODY'], JSON.stringify(body));
      assert.match(bad.json().message, new RegExp(`"${field}"`));
    }
    const unknown = await post({ name: 'NoSuchSet' });
    assert.deepEqual([unknown.statusCode, unknown.json().code], [404, 'STICKER_SET_NOT_FOUND']);
  });

  test('a client that hangs up stops the grid: the stickers after the one under way are never fetched, nothing is composed', { timeout: 60_000 }, async () => {
    const ids = [0, 1, 2, 3].map((i) => fid(`grid_hangup${i}`));
    ids.forEach((id) => t.fake.add(id, { data: fixture('tiny_512_1s.tgs') }));
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as AddressInfo).port;
    t.fake.resetCounts();
    const completed = t.app.pool.stats.completed;
    // The second sticker's getFile waits for the test: the client leaves while it is held.
    let release!: () => void;
    t.fake.faults.getFile.push({ kind: 'delay', ms: 0 }, { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
    let getFiles = 0;
    const held = new Promise<void>((resolve) => (t.fake.onCall = (path) => /\/getFile\?/.test(path) && ++getFiles === 2 && resolve()));
    const abandoned = new Promise<string>((resolve) => {
      const push = t.logs.push.bind(t.logs);
      t.logs.push = (...lines: string[]) => {
        for (const l of lines) if (l.includes('grid abandoned')) resolve(l);
        return push(...lines);
      };
    });
    const client = new AbortController();
    const res = request(`http://127.0.0.1:${port}/stickers/combine`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ file_ids: ids, tile_size: 32 }), signal: client.signal });
    await held;
    client.abort();
    await res.catch(() => undefined);
    release();
    const line = JSON.parse(await abandoned);
    t.fake.onCall = undefined;
    assert.equal(t.fake.calls.getFile, 2, 'no sticker after the one under way when the client left');
    assert.deepEqual([line.stickers, line.notReached], [4, 2]);
    // Two first frames rendered (the one before and the one under way), nothing composed.
    assert.equal(t.app.pool.stats.completed - completed, 2 * 2, 'decode and render of two stickers, no compose');
  });

  test('every member failing is the first failure, not an empty grid', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/stickers/combine', payload: { file_ids: [ids.bad] } });
    assert.deepEqual([res.statusCode, res.json().code], [422, 'CORRUPT_STICKER']);
  });
});

test('with URL signing on, POST /stickers/combine (and combine-from-set) is off without UPLOAD_TOKEN and takes it as a bearer token', async () => {
  const key = 'grid-signing-key-0123456789abcdefgh';
  const off = await buildTestApp({ URL_SIGNING_KEY: key });
  const token = 'combine-token-0123456789';
  const on = await buildTestApp({ URL_SIGNING_KEY: key, UPLOAD_TOKEN: token });
  try {
    const payload = { file_ids: [fid('signed_grid')] };
    on.fake.add(fid('signed_grid'), { data: fixture('static_webp_800x600.webp') });
    const r1 = await off.app.inject({ method: 'POST', url: '/stickers/combine', payload });
    assert.deepEqual([r1.statusCode, r1.json().code], [403, 'UPLOADS_DISABLED']);
    const fromSet = await off.app.inject({ method: 'POST', url: '/stickers/combine-from-set', payload: { name: 'Any' } });
    assert.deepEqual([fromSet.statusCode, fromSet.json().code], [403, 'UPLOADS_DISABLED']);
    const r2 = await on.app.inject({ method: 'POST', url: '/stickers/combine', payload });
    assert.deepEqual([r2.statusCode, r2.json().code], [401, 'UNAUTHORIZED']);
    const r3 = await on.app.inject({ method: 'POST', url: '/stickers/combine', payload, headers: { authorization: `Bearer ${token}` } });
    assert.equal(r3.statusCode, 200, r3.payload);
  } finally {
    await Promise.all([off.close(), on.close()]);
  }
});

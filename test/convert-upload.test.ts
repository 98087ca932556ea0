import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { buildTestApp, fixture, type TestApp } from './helper.js';

const TGS = fixture('sticker_05.tgs');

describe('POST /convert', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ MAX_UPLOAD_MB: '0.1', TELEGRAM_BOT_TOKEN: '' }); // no Telegram needed
  });
  after(() => t.close());
  const post = (payload: Buffer, q = '', headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: `/convert${q}`, payload, headers: { 'content-type': 'application/octet-stream', ...headers } });

  test('converts an uploaded TGS with the same parameters as GET /stickers, without caching', async () => {
    const res = await post(TGS, '?format=png&size=64');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['x-file-id'], undefined);
    const meta = await sharp(res.rawPayload).metadata();
    assert.deepEqual([meta.width, meta.height], [64, 64]);
  });

  test('with no format a TGS comes back as Lottie JSON (gzip bytes to gzip clients); any content type is accepted', async () => {
    const json = await post(TGS, '', { 'content-type': 'image/png' });
    assert.equal(json.statusCode, 200);
    assert.deepEqual(json.rawPayload, gunzipSync(TGS));
    const gz = await post(TGS, '', { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gz.rawPayload, TGS);
  });

  test('bad uploads: empty 400, too large 413, not a sticker 422, corrupt TGS 422, bad parameter 400', async () => {
    assert.equal((await post(Buffer.alloc(0))).statusCode, 400);
    const big = await post(Buffer.alloc(200 * 1024, 1));
    assert.equal(big.statusCode, 413);
    assert.equal(JSON.parse(big.payload).code, 'FILE_TOO_BIG');
    assert.equal((await post(Buffer.from('plain text'))).statusCode, 422);
    const bomb = await post(gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)));
    assert.equal(bomb.statusCode, 413);
    assert.equal(JSON.parse(bomb.payload).code, 'LOTTIE_TOO_LARGE');
    const badQ = await post(TGS, '?format=png&size=2');
    assert.equal(badQ.statusCode, 400);
    assert.match(JSON.parse(badQ.payload).message, /"size"/);
  });

  test('UPLOAD_ENABLED=false removes the route', async () => {
    const off = await buildTestApp({ UPLOAD_ENABLED: 'false' });
    try {
      const res = await off.app.inject({ method: 'POST', url: '/convert', payload: TGS, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(res.statusCode, 404);
    } finally {
      await off.close();
    }
  });
});

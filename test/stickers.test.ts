import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { buildTestApp, eventually, fixture, fid, type TestApp } from './helper.js';
import { FakeTelegram } from './fake-telegram.js';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

const TGS = fixture('sticker_01.tgs');
const WEBP = fixture('static_webp_800x600.webp');
const WEBM = fixture('animated_webm_161x121_2s_vp9a.webm');
const PNG = fixture('static_png_RGBA_80x60.png');

describe('GET /stickers/:fileId — formats and headers', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ CACHE_TTL_DAYS: '2' });
    t.fake.add(fid('tgs'), { data: TGS }).add(fid('webp'), { data: WEBP }).add(fid('webm'), { data: WEBM }).add(fid('png'), { data: PNG });
  });
  after(() => t.close());

  test('a TGS goes to gzip-accepting clients as its own bytes with Content-Encoding: gzip', async () => {
    const res = await t.app.inject({ url: `/stickers/${fid('tgs')}`, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers.vary, 'Accept-Encoding');
    assert.deepEqual(res.rawPayload, TGS);
    assert.equal(res.headers['x-file-id'], fid('tgs'));
    assert.equal(res.headers['x-cache-status'], 'MISS');
    assert.equal(res.headers['x-original-format'], 'tgs');
    assert.equal(res.headers['x-output-format'], 'lottie');
    assert.equal(res.headers['x-is-converted'], 'true');
    assert.equal(res.headers['x-file-size'], String(TGS.length));
    assert.equal(res.headers['cache-control'], `public, max-age=${2 * 86400}`);
    assert.match(String(res.headers['x-conversion-time-ms']), /^\d+\.\d\d$/);
    assert.match(String(res.headers['x-processing-time-ms']), /^\d+\.\d\d$/);
    assert.match(String(res.headers.etag), /^"[A-Za-z0-9_-]+-gz"$/);
    assert.equal(res.headers['x-lottie-dimensions'], '512x448');

    const again = await t.app.inject({ url: `/stickers/${fid('tgs')}`, headers: { 'accept-encoding': 'gzip' } });
    assert.equal(again.headers['x-cache-status'], 'HIT');
    assert.deepEqual(again.rawPayload, TGS);
    assert.equal(t.fake.calls.getFile, 1);
  });

  test('a client without gzip gets the decompressed Lottie JSON, with its own ETag', async () => {
    const res = await t.app.inject({ url: `/stickers/${fid('tgs')}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(res.rawPayload, gunzipSync(TGS));
    assert.equal(JSON.parse(res.payload).w, 512);
    assert.doesNotMatch(String(res.headers.etag), /-gz"$/);
    // gzip;q=0 means "not gzip"
    const refused = await t.app.inject({ url: `/stickers/${fid('tgs')}`, headers: { 'accept-encoding': 'gzip;q=0, br' } });
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.deepEqual(refused.rawPayload, gunzipSync(TGS));
  });

  test('static WebP, WebM and PNG pass through with their content types, detected from bytes', async () => {
    for (const [name, data, type] of [
      ['webp', WEBP, 'image/webp'],
      ['webm', WEBM, 'video/webm'],
      ['png', PNG, 'image/png'],
    ] as const) {
      const res = await t.app.inject({ url: `/stickers/${fid(name)}`, headers: { 'accept-encoding': 'gzip' } });
      assert.equal(res.statusCode, 200, name);
      assert.equal(res.headers['content-type'], type);
      assert.equal(res.headers['content-encoding'], undefined);
      assert.equal(res.headers['x-original-format'], name);
      assert.equal(res.headers['x-output-format'], name);
      assert.equal(res.headers['x-is-converted'], 'false');
      assert.deepEqual(res.rawPayload, data);
    }
  });

  test('If-None-Match with the current ETag answers 304 without a body', async () => {
    const first = await t.app.inject({ url: `/stickers/${fid('webp')}` });
    const etag = String(first.headers.etag);
    const res = await t.app.inject({ url: `/stickers/${fid('webp')}`, headers: { 'if-none-match': `"other", ${etag}` } });
    assert.equal(res.statusCode, 304);
    assert.equal(res.payload, '');
    assert.equal(res.headers.etag, etag);
    const stale = await t.app.inject({ url: `/stickers/${fid('webp')}`, headers: { 'if-none-match': '"nope"' } });
    assert.equal(stale.statusCode, 200);
  });

  test('HEAD answers with the headers and no body', async () => {
    const res = await t.app.inject({ method: 'HEAD', url: `/stickers/${fid('png')}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(res.payload, '');
  });
});

describe('GET /stickers/:fileId — input validation and Telegram errors', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ MAX_FILE_SIZE_MB: '0.05', ENDPOINT_TIMEOUT_SEC: '1.5', TELEGRAM_TIMEOUT_SEC: '0.3', MAX_RETRIES: '2' });
  });
  after(() => t.close());

  const get = (id: string) => t.app.inject({ url: `/stickers/${id}`, headers: { 'accept-encoding': 'gzip' } });
  const errorBody = (payload: string) => {
    const b = JSON.parse(payload);
    assert.deepEqual(Object.keys(b).sort(), ['code', 'error', 'message', 'statusCode']);
    assert.doesNotMatch(payload, /at .*\.js:\d+/); // never a stack trace
    return b;
  };

  test('a malformed file id is refused with 400 before any call to Telegram', async () => {
    t.fake.resetCounts();
    for (const bad of ['short', 'has.dot.in.it.here', 'x'.repeat(300), '%2e%2e%2fetc%2fpasswd']) {
      const res = await get(bad);
      assert.equal(res.statusCode, 400, bad);
      const b = errorBody(res.payload);
      assert.equal(b.code, 'INVALID_FILE_ID');
      assert.match(b.message, /file_id/);
    }
    assert.equal(t.fake.calls.getFile, 0);
  });

  test("an id Telegram does not know gets 400 with Telegram's description", async () => {
    const res = await get(fid('unknown'));
    assert.equal(res.statusCode, 400);
    assert.match(errorBody(res.payload).message, /Bad Request: invalid file_id/);
  });

  test('file_size over MAX_FILE_SIZE_MB is refused with 413 before downloading', async () => {
    t.fake.add(fid('big'), { data: Buffer.alloc(10), fileSize: 60 * 1024 });
    t.fake.resetCounts();
    const res = await get(fid('big'));
    assert.equal(res.statusCode, 413);
    assert.equal(errorBody(res.payload).code, 'FILE_TOO_BIG');
    assert.equal(t.fake.calls.download, 0);
  });

  test("Telegram's own 'file is too big' is a 413", async () => {
    t.fake.add(fid('huge'), { data: Buffer.alloc(10), fileSize: 30 * 1024 * 1024 });
    const res = await get(fid('huge'));
    assert.equal(res.statusCode, 413);
  });

  test('a download larger than its announced size is cut off at the cap (413)', async () => {
    t.fake.add(fid('liar'), { data: Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(200 * 1024)]), fileSize: 1000 });
    const res = await get(fid('liar'));
    assert.equal(res.statusCode, 413);
  });

  test('a 5xx is retried with back-off and then succeeds', async () => {
    t.fake.add(fid('flaky'), { data: PNG });
    t.fake.resetCounts();
    t.fake.faults.getFile.push({ kind: 'status', status: 502 }, { kind: 'not-json' });
    const res = await get(fid('flaky'));
    assert.equal(res.statusCode, 200);
    assert.equal(t.fake.calls.getFile, 3);
  });

  test('persistent 5xx gives 502 after MAX_RETRIES retries', async () => {
    t.fake.add(fid('down'), { data: PNG });
    t.fake.resetCounts();
    t.fake.faults.getFile.push(...Array.from({ length: 5 }, () => ({ kind: 'status', status: 500 }) as const));
    const res = await get(fid('down'));
    assert.equal(res.statusCode, 502);
    assert.equal(errorBody(res.payload).code, 'TELEGRAM_UNAVAILABLE');
    assert.equal(t.fake.calls.getFile, 3);
    t.fake.faults.getFile.length = 0;
  });

  test('a dropped connection is retried like a 5xx', async () => {
    t.fake.add(fid('reset'), { data: PNG });
    t.fake.faults.download.push({ kind: 'reset' });
    const res = await get(fid('reset'));
    assert.equal(res.statusCode, 200);
  });

  test('an attempt that hangs times out (TELEGRAM_TIMEOUT_SEC) and is retried', async () => {
    t.fake.add(fid('hang1'), { data: PNG });
    t.fake.faults.getFile.push({ kind: 'hang' });
    const res = await get(fid('hang1'));
    assert.equal(res.statusCode, 200);
  });

  test('a corrupt TGS is 422 and is not cached', async () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      ['trunc', TGS.subarray(0, TGS.length / 2), /incomplete/],
      ['garbage', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(64, 7)]), /gzip/],
      ['notjson', gzipSync('hello, not json'), /not JSON/],
      ['notlottie', gzipSync(JSON.stringify({ hello: 'world' })), /Lottie field/],
      ['array', gzipSync('[1,2,3]'), /object/],
    ];
    for (const [name, data, why] of cases) {
      t.fake.add(fid(name), { data });
      t.fake.resetCounts();
      const res = await get(fid(name));
      assert.equal(res.statusCode, 422, name);
      const b = errorBody(res.payload);
      assert.equal(b.code, 'CORRUPT_STICKER');
      assert.match(b.message, why, name);
      await get(fid(name));
      assert.equal(t.fake.calls.download, 2, `${name} must not be cached`);
    }
  });

  test('a file that is no known format is 422', async () => {
    t.fake.add(fid('text'), { data: Buffer.from('just some text, no magic') });
    const res = await get(fid('text'));
    assert.equal(res.statusCode, 422);
    assert.equal(errorBody(res.payload).code, 'UNSUPPORTED_FORMAT');
  });

  test('Telegram hanging past ENDPOINT_TIMEOUT_SEC gives 504', async () => {
    const slow = await buildTestApp({ ENDPOINT_TIMEOUT_SEC: '0.5', TELEGRAM_TIMEOUT_SEC: '30' });
    try {
      slow.fake.add(fid('slow'), { data: PNG });
      slow.fake.faults.getFile.push({ kind: 'hang' });
      const res = await slow.app.inject({ url: `/stickers/${fid('slow')}` });
      assert.equal(res.statusCode, 504);
      assert.equal(errorBody(res.payload).code, 'TIMEOUT');
    } finally {
      await slow.close();
    }
  });

  test('unknown routes are JSON 404s', async () => {
    const res = await t.app.inject({ url: '/nope' });
    assert.equal(res.statusCode, 404);
    assert.equal(errorBody(res.payload).error, 'Not Found');
  });
});

describe('GET /stickers/:fileId — rate limits from Telegram', () => {
  test('a 429 whose retry_after fits the deadline is waited out, and pauses other calls too', async () => {
    const t = await buildTestApp({ ENDPOINT_TIMEOUT_SEC: '5' });
    try {
      t.fake.add(fid('r1'), { data: PNG }).add(fid('r2'), { data: WEBP });
      t.fake.faults.getFile.push({ kind: 'status', status: 429, description: 'Too Many Requests: retry after 1', retryAfter: 1 });
      const started = Date.now();
      const first = t.app.inject({ url: `/stickers/${fid('r1')}` });
      // Let the first call reach Telegram and get its 429 before the second starts.
      while (t.fake.calls.getFile === 0) await new Promise((r) => setImmediate(r));
      const second = t.app.inject({ url: `/stickers/${fid('r2')}` });
      const [a, b] = await Promise.all([first, second]);
      assert.equal(a.statusCode, 200);
      assert.equal(b.statusCode, 200);
      assert.ok(Date.now() - started >= 900, 'the retry_after pause was honoured');
      assert.equal(t.fake.calls.getFile, 3);
      const stats = JSON.parse((await t.app.inject({ url: '/cache/stats' })).payload);
      assert.equal(stats.telegram.rateLimited, 1);
    } finally {
      await t.close();
    }
  });

  test("a 429 longer than the deadline is a 503 with Retry-After from Telegram's JSON body", async () => {
    const t = await buildTestApp({ ENDPOINT_TIMEOUT_SEC: '2' });
    try {
      t.fake.add(fid('r3'), { data: PNG });
      t.fake.faults.getFile.push({ kind: 'status', status: 429, description: 'Too Many Requests: retry after 37', retryAfter: 37 });
      const res = await t.app.inject({ url: `/stickers/${fid('r3')}` });
      assert.equal(res.statusCode, 503);
      assert.equal(JSON.parse(res.payload).code, 'TELEGRAM_RATE_LIMITED');
      const ra = Number(res.headers['retry-after']);
      assert.ok(ra >= 36 && ra <= 37, `Retry-After ${ra}`);
      // While paused, other requests are refused at once instead of calling Telegram.
      t.fake.add(fid('r4'), { data: PNG });
      const calls = t.fake.calls.getFile;
      const other = await t.app.inject({ url: `/stickers/${fid('r4')}` });
      assert.equal(other.statusCode, 503);
      assert.equal(t.fake.calls.getFile, calls);
    } finally {
      await t.close();
    }
  });
});

describe('GET /stickers/:fileId — one fetch for many askers', () => {
  test('concurrent requests for one file id make one getFile and one download', async () => {
    const t = await buildTestApp();
    try {
      t.fake.add(fid('hot'), { data: TGS });
      t.fake.delayMs = 50;
      const all = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          t.app.inject({ url: `/stickers/${fid('hot')}`, headers: i % 2 ? { 'accept-encoding': 'gzip' } : {} }),
        ),
      );
      for (const r of all) assert.equal(r.statusCode, 200);
      assert.equal(t.fake.calls.getFile, 1);
      assert.equal(t.fake.calls.download, 1);
      const stats = JSON.parse((await t.app.inject({ url: '/cache/stats' })).payload);
      assert.equal(stats.coalesced, 49);
    } finally {
      await t.close();
    }
  });

  test('outbound calls are capped at TELEGRAM_MAX_CONCURRENT_REQUESTS', async () => {
    const t = await buildTestApp({ TELEGRAM_MAX_CONCURRENT_REQUESTS: '2' });
    try {
      t.fake.delayMs = 20;
      const ids = Array.from({ length: 10 }, (_, i) => fid(`cap${i}`));
      for (const id of ids) t.fake.add(id, { data: PNG });
      const all = await Promise.all(ids.map((id) => t.app.inject({ url: `/stickers/${id}` })));
      for (const r of all) assert.equal(r.statusCode, 200);
      assert.equal(t.fake.maxInFlight, 2);
    } finally {
      await t.close();
    }
  });

  test('a client hanging up does not cancel the fetch for the others, and its result is cached', { timeout: 30_000 }, async () => {
    const t = await buildTestApp();
    let release: (() => void) | undefined;
    try {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/stickers/${fid('slowhot')}`;
      t.fake.add(fid('slowhot'), { data: PNG });
      t.fake.faults.getFile.push({ kind: 'hold', until: new Promise<void>((r) => (release = r)) });
      const getFileArrived = new Promise<void>((r) => (t.fake.onCall = () => r()));
      const serverSawHangUp = new Promise<void>((r) => t.app.server.once('request', (_req, res) => res.once('close', () => r())));

      // The first asker starts the fetch, then gives up: its connection is gone before Telegram answers.
      const quitter = new AbortController();
      const first = request(url, { signal: quitter.signal });
      await getFileArrived;
      quitter.abort();
      await assert.rejects(first, { name: 'AbortError' });
      await serverSawHangUp;

      // Another asker joins the fetch still under way, and gets the sticker once Telegram answers.
      const second = request(url);
      await eventually(async () => JSON.parse((await t.app.inject({ url: '/cache/stats' })).payload).coalesced === 1);
      release!();
      const res = await second;
      assert.equal(res.statusCode, 200);
      assert.deepEqual(Buffer.from(await res.body.arrayBuffer()), PNG);
      const hit = await t.app.inject({ url: `/stickers/${fid('slowhot')}` });
      assert.equal(hit.headers['x-cache-status'], 'HIT');
      assert.deepEqual(t.fake.calls, { getFile: 1, download: 1 });
    } finally {
      release?.(); // nothing may stay held, or closing the app waits for it
      await t.close();
    }
  });
});

describe('file_path reuse', () => {
  test('a file_path is reused, and a 404 on the download triggers one fresh getFile', async () => {
    const t = await buildTestApp({ MEMORY_CACHE_MB: '0' }); // no memory tier: every request downloads
    try {
      t.fake.add(fid('path'), { data: PNG });
      assert.equal((await t.app.inject({ url: `/stickers/${fid('path')}` })).statusCode, 200);
      assert.equal((await t.app.inject({ url: `/stickers/${fid('path')}` })).statusCode, 200);
      assert.deepEqual(t.fake.calls, { getFile: 1, download: 2 });
      t.fake.expirePaths();
      assert.equal((await t.app.inject({ url: `/stickers/${fid('path')}` })).statusCode, 200);
      assert.deepEqual(t.fake.calls, { getFile: 2, download: 4 });
    } finally {
      await t.close();
    }
  });

  test('a file that still 404s after a fresh getFile is 404', async () => {
    const t = await buildTestApp();
    try {
      t.fake.add(fid('gone'), { data: PNG });
      t.fake.faults.download.push({ kind: 'status', status: 404 }, { kind: 'status', status: 404 });
      const res = await t.app.inject({ url: `/stickers/${fid('gone')}` });
      assert.equal(res.statusCode, 404);
      assert.equal(JSON.parse(res.payload).code, 'FILE_NOT_FOUND');
      assert.equal(t.fake.calls.getFile, 2);
    } finally {
      await t.close();
    }
  });
});

describe('bot token handling', () => {
  test('a token Telegram rejects is a 502 (our fault), and the token never reaches responses or logs', async () => {
    const fake = await new FakeTelegram().start();
    const t = await buildTestApp({ TELEGRAM_BOT_TOKEN: '999999:WRONG-token_zyxwvutsrqponmlkjihgf' }, fake);
    try {
      fake.add(fid('a'), { data: PNG });
      const res = await t.app.inject({ url: `/stickers/${fid('a')}` });
      assert.equal(res.statusCode, 502);
      assert.equal(JSON.parse(res.payload).code, 'TELEGRAM_AUTH_FAILED');
    } finally {
      await t.close();
      await fake.close();
    }
  });

  test('the token is redacted even when upstream text echoes it', async () => {
    const t = await buildTestApp({ ENDPOINT_TIMEOUT_SEC: '2', MAX_RETRIES: '0' });
    try {
      const token = t.fake.token;
      t.fake.add(fid('echo'), { data: PNG });
      t.fake.faults.getFile.push({ kind: 'status', status: 400, description: `Bad Request: token ${token} is odd` });
      const res = await t.app.inject({ url: `/stickers/${fid('echo')}` });
      assert.equal(res.statusCode, 400);
      assert.ok(!res.payload.includes(token));
      assert.match(res.payload, /<redacted>/);
      // Failures on the download URL (which holds the token) are logged without it.
      t.fake.add(fid('dl'), { data: PNG });
      t.fake.faults.download.push({ kind: 'reset' });
      const failed = await t.app.inject({ url: `/stickers/${fid('dl')}` });
      assert.equal(failed.statusCode, 502);
      t.app.log.error({ url: `${t.fake.url}/file/bot${token}/x` }, `direct attempt to log ${token}`);
      const all = t.logs.join('');
      assert.ok(t.logs.length > 0);
      assert.ok(!all.includes(token), 'token found in logs');
      assert.match(all, /<redacted>/);
    } finally {
      await t.close();
    }
  });

  test('with no token the server starts, /health is 200, /health/ready and /stickers are 503', async () => {
    const t = await buildTestApp({ TELEGRAM_BOT_TOKEN: '' });
    try {
      assert.equal((await t.app.inject({ url: '/health' })).statusCode, 200);
      const ready = await t.app.inject({ url: '/health/ready' });
      assert.equal(ready.statusCode, 503);
      assert.match(ready.payload, /TELEGRAM_BOT_TOKEN/);
      const res = await t.app.inject({ url: `/stickers/${fid('x')}` });
      assert.equal(res.statusCode, 503);
      assert.equal(JSON.parse(res.payload).code, 'TOKEN_NOT_CONFIGURED');
      assert.match(JSON.parse(res.payload).message, /TELEGRAM_BOT_TOKEN/);
      assert.equal(t.fake.calls.getFile, 0);
    } finally {
      await t.close();
    }
  });
});

describe('other routes', () => {
  test('/formats, /health/ready and /cache/stats', async () => {
    const t = await buildTestApp();
    try {
      t.fake.add(fid('s1'), { data: PNG });
      const formats = JSON.parse((await t.app.inject({ url: '/formats' })).payload);
      assert.deepEqual(formats.conversions.tgs, ['lottie', 'png', 'webp', 'gif', 'apng', 'webm', 'mp4', 'original']);
      assert.equal((await t.app.inject({ url: '/health/ready' })).statusCode, 200);
      await t.app.inject({ url: `/stickers/${fid('s1')}` });
      await t.app.inject({ url: `/stickers/${fid('s1')}` });
      const s = JSON.parse((await t.app.inject({ url: '/cache/stats' })).payload);
      assert.equal(s.workers, 1);
      assert.equal(s.memory.items, 1);
      assert.equal(s.memory.hits, 1);
      assert.equal(s.memory.hitRate, 0.5);
      assert.ok(s.memory.bytes >= PNG.length);
      assert.equal(s.telegram.getFileCalls, 1);
      assert.equal(s.telegram.downloadCalls, 1);
    } finally {
      await t.close();
    }
  });
});

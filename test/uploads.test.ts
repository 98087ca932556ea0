import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { buildTestApp, eventually, fixture, type TestApp } from './helper.js';

const TGS = new Uint8Array(fixture('sticker_05.tgs'));
const LOTTIE_TEXT = fixture('lottie/lottie_12.json').toString();
const LOTTIE = new Uint8Array(Buffer.from(LOTTIE_TEXT));

/** A real listening service: every test here talks to it over sockets. */
async function listening(env: Record<string, string>): Promise<{ t: TestApp; base: string; port: number }> {
  const t = await buildTestApp({ TELEGRAM_BOT_TOKEN: '', ...env });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (t.app.server.address() as { port: number }).port;
  return { t, base: `http://127.0.0.1:${port}`, port };
}

/** Opens a socket and sends a POST /convert head announcing length bytes, plus the first part of the body. */
async function startUpload(port: number, length: number, first: Buffer): Promise<{ socket: Socket; response: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (d) => (text += d.toString('latin1')));
  const response = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
  socket.on('error', () => {});
  socket.write(`POST /convert HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`);
  socket.write(first);
  return { socket, response };
}

const stats = async (base: string) => (await (await fetch(`${base}/cache/stats`)).json()) as { uploads: { bytesHeld: number; refusedBusy: number } };

describe('POST /convert takes what people send, and nothing it parses on the serving thread', () => {
  let s: Awaited<ReturnType<typeof listening>>;
  before(async () => (s = await listening({ MAX_UPLOAD_MB: '12' })));
  after(() => s.t.close());

  test('a TGS sent as application/json converts: no JSON parser runs on the body', async () => {
    const res = await fetch(`${s.base}/convert?format=png&size=32`, { method: 'POST', body: TGS, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
  });

  test('a plain Lottie .json is an input: served back as Lottie, and rendered', async () => {
    const json = await fetch(`${s.base}/convert`, { method: 'POST', body: LOTTIE, headers: { 'content-type': 'application/json', 'accept-encoding': 'identity' } });
    assert.equal(json.status, 200);
    assert.equal(json.headers.get('content-type'), 'application/json');
    assert.deepEqual(JSON.parse(await json.text()), JSON.parse(LOTTIE_TEXT));
    const png = await fetch(`${s.base}/convert?format=png&size=64`, { method: 'POST', body: LOTTIE });
    assert.equal(png.status, 200);
    assert.equal(png.headers.get('content-type'), 'image/png');
  });

  test('a multipart form with one file field (curl -F file=@x.tgs) converts; a form with no file is EMPTY_UPLOAD', async () => {
    const form = new FormData();
    form.append('note', 'a field before the file');
    form.append('file', new Blob([TGS]), 'sticker.tgs');
    const res = await fetch(`${s.base}/convert?format=png&size=48`, { method: 'POST', body: form });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    const noFile = new FormData();
    noFile.append('note', 'no file here');
    const empty = await fetch(`${s.base}/convert`, { method: 'POST', body: noFile });
    assert.equal(empty.status, 400);
    assert.equal(((await empty.json()) as { code: string }).code, 'EMPTY_UPLOAD');
  });

  test('a 10 MB nested-array JSON body is a 422 from the bytes, and /health answers while it is in flight', async () => {
    const depth = 5 * 1024 * 1024;
    const body = new Uint8Array(Buffer.concat([Buffer.alloc(depth, '['), Buffer.alloc(depth, ']')]));
    const pending = fetch(`${s.base}/convert`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const health = await Promise.all([1, 2, 3].map(() => fetch(`${s.base}/health`)));
    assert.deepEqual(health.map((h) => h.status), [200, 200, 200]);
    const res = await pending;
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { code: string }).code, 'UNSUPPORTED_FORMAT');
    // An object nested as deep goes to the pool, which refuses it as Lottie; the serving thread never parses it.
    const obj = new Uint8Array(Buffer.concat([Buffer.from('{"a":'), Buffer.alloc(depth, '['), Buffer.alloc(depth, ']'), Buffer.from('}')]));
    const deep = await fetch(`${s.base}/convert`, { method: 'POST', body: obj, headers: { 'content-type': 'application/json' } });
    assert.equal(deep.status, 422);
    assert.equal(((await deep.json()) as { code: string }).code, 'CORRUPT_STICKER');
  });
});

describe('uploads are bounded in time, pace and memory', () => {
  let s: Awaited<ReturnType<typeof listening>>;
  before(async () => (s = await listening({ MAX_UPLOAD_MB: '1', UPLOAD_MAX_INFLIGHT_MB: '2.5', UPLOAD_TIMEOUT_SEC: '2', UPLOAD_MIN_BYTES_PER_SEC: '0', SERVER_HEADERS_TIMEOUT_SEC: '1' })));
  after(() => s.t.close());

  test('held uploads past UPLOAD_MAX_INFLIGHT_MB get 503 with Retry-After; the memory comes back when their sockets go', async () => {
    const MB = 1024 * 1024;
    // Two uploads of 1 MB hold 2 MB (all but one byte each); a third one's bytes do not fit in 2.5 MB.
    const held = [await startUpload(s.port, MB, Buffer.alloc(MB - 1, 1)), await startUpload(s.port, MB, Buffer.alloc(MB - 1, 1))];
    await eventually(async () => (await stats(s.base)).uploads.bytesHeld === 2 * (MB - 1));
    const third = await startUpload(s.port, MB, Buffer.alloc(MB - 1, 1));
    const answer = await third.response;
    assert.match(answer, /^HTTP\/1.1 503/);
    assert.match(answer, /retry-after: 1/i);
    assert.match(answer, /"code":"UPLOADS_BUSY"/);
    for (const h of held) h.socket.destroy();
    await eventually(async () => (await stats(s.base)).uploads.bytesHeld === 0);
    assert.equal((await stats(s.base)).uploads.refusedBusy, 1);
  });

  test('an upload that does not finish within UPLOAD_TIMEOUT_SEC gets 408 and its connection closed', async () => {
    const { response } = await startUpload(s.port, 1000, Buffer.alloc(10, 1));
    const answer = await response;
    assert.match(answer, /^HTTP\/1.1 408/);
    assert.match(answer, /"code":"UPLOAD_TIMEOUT"/);
    assert.match(answer, /connection: close/i);
  });

  test('a socket that never finishes its headers is closed after SERVER_HEADERS_TIMEOUT_SEC', async () => {
    const socket = connect(s.port, '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    socket.write('POST /convert HTTP/1.1\r\nHost: x\r\n');
    let text = '';
    socket.on('data', (d) => (text += d));
    await once(socket, 'close');
    assert.match(text, /^HTTP\/1.1 408/);
  });
});

describe('a trickled upload', () => {
  let s: Awaited<ReturnType<typeof listening>>;
  before(async () => (s = await listening({ UPLOAD_MIN_BYTES_PER_SEC: '1000', UPLOAD_TIMEOUT_SEC: '600' })));
  after(() => s.t.close());

  test('slower than UPLOAD_MIN_BYTES_PER_SEC over a window is cut with 408 UPLOAD_TOO_SLOW', async () => {
    const { socket, response } = await startUpload(s.port, 100_000, Buffer.alloc(1, 1));
    const trickle = setInterval(() => socket.writable && socket.write(Buffer.alloc(1, 1)), 500);
    try {
      const answer = await response;
      assert.match(answer, /^HTTP\/1.1 408/);
      assert.match(answer, /"code":"UPLOAD_TOO_SLOW"/);
    } finally {
      clearInterval(trickle);
    }
    assert.equal((await stats(s.base)).uploads.bytesHeld, 0);
  });
});

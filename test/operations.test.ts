import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, eventually, fid, fixture, type TestApp } from './helper.js';

const TGS = fixture('sticker_05.tgs');
const line = (t: TestApp, pred: (l: Record<string, unknown>) => boolean) => t.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter(pred);

describe('metrics, access log, request ids, CORS', () => {
  let t: TestApp;
  before(async () => (t = await buildTestApp({ ADMIN_TOKEN: 'ops-admin-token-0123456789' })));
  after(() => t.close());

  test('/metrics: requests by route, cache lookups by tier, pool tasks, conversions, per-worker runtime; never a file id', async () => {
    t.fake.add(fid('m1'), { data: TGS });
    for (let i = 0; i < 3; i++) assert.equal((await t.app.inject({ url: `/stickers/${fid('m1')}` })).statusCode, 200);
    assert.equal((await t.app.inject({ url: `/stickers/${fid('m1')}?format=png&size=32` })).statusCode, 200);
    const res = await t.app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/);
    const text = res.payload;
    assert.match(text, /http_requests_total\{method="GET",route="\/stickers\/:fileId",status="200"\} 4/);
    assert.match(text, /http_request_duration_seconds_bucket\{le="[^"]+",method="GET",route="\/stickers\/:fileId"\}/);
    assert.match(text, /sticker_cache_lookups_total\{tier="memory",result="hit"\} [1-9]/);
    assert.match(text, /pool_task_duration_seconds_count\{kind="decode-tgs",outcome="ok"\} [1-9]/);
    assert.match(text, /pool_task_duration_seconds_count\{kind="render-png",outcome="ok"\} 1/);
    assert.match(text, /sticker_conversions_seconds_count\{format="png",engine="pool"\} 1/);
    assert.match(text, /telegram_requests_total\{method="getFile"\} 1/);
    assert.match(text, /nodejs_eventloop_lag_p99_seconds\{worker="0"\}/);
    assert.match(text, /nodejs_heap_size_used_bytes\{worker="0"\}/);
    assert.doesNotMatch(text, new RegExp(fid('m1')));
  });

  test('one access-log line per request, with the request id the client sent (returned too)', async () => {
    t.fake.add(fid('m2'), { data: TGS });
    const res = await t.app.inject({ url: `/stickers/${fid('m2')}`, headers: { 'x-request-id': 'trace-abc.123', 'accept-encoding': 'gzip' } });
    assert.equal(res.headers['x-request-id'], 'trace-abc.123');
    const [log] = line(t, (l) => l.msg === 'request' && l.reqId === 'trace-abc.123');
    assert.deepEqual(
      { method: log.method, route: log.route, status: log.status, cache: log.cache, format: log.format, bytes: log.bytes, level: log.level },
      { method: 'GET', route: '/stickers/:fileId', status: 200, cache: 'MISS', format: 'lottie', bytes: TGS.length, level: 30 },
    );
    assert.equal(typeof log.ms, 'number');
    // An id that is not plain is replaced (it would go into logs as it is), and errors carry the id too.
    const odd = await t.app.inject({ url: '/stickers/short', headers: { 'x-request-id': 'bad id\nwith newline' } });
    assert.equal(odd.statusCode, 400);
    assert.match(odd.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
    assert.equal(line(t, (l) => l.msg === 'request' && l.reqId === odd.headers['x-request-id']).length, 1);
  });

  test('CORS: public routes for any origin with X-* headers exposed, preflight answered; admin routes never', async () => {
    t.fake.add(fid('m3'), { data: TGS });
    const get = await t.app.inject({ url: `/stickers/${fid('m3')}`, headers: { origin: 'https://page.example' } });
    assert.equal(get.headers['access-control-allow-origin'], '*');
    assert.match(get.headers['access-control-expose-headers'] as string, /x-cache-status/);
    assert.equal(get.headers.vary, 'Accept-Encoding', 'no Vary: Origin with "*"');
    const plain = await t.app.inject({ url: `/stickers/${fid('m3')}` });
    assert.equal(plain.headers['access-control-allow-origin'], undefined, 'no CORS headers without Origin');
    const pre = await t.app.inject({ method: 'OPTIONS', url: `/stickers/${fid('m3')}`, headers: { origin: 'https://page.example', 'access-control-request-method': 'GET' } });
    assert.equal(pre.statusCode, 204);
    assert.match(pre.headers['access-control-allow-methods'] as string, /GET/);
    const preDelete = await t.app.inject({ method: 'OPTIONS', url: '/cache/all', headers: { origin: 'https://page.example', 'access-control-request-method': 'DELETE' } });
    assert.doesNotMatch(String(preDelete.headers['access-control-allow-methods'] ?? ''), /DELETE/);
    const del = await t.app.inject({ method: 'DELETE', url: '/cache/all', headers: { origin: 'https://page.example', authorization: 'Bearer ops-admin-token-0123456789' } });
    assert.equal(del.statusCode, 200);
    assert.equal(del.headers['access-control-allow-origin'], undefined);
  });
});

test('CORS_ORIGINS lists the origins allowed; METRICS_ENABLED=false and ACCESS_LOG=false turn those off', async () => {
  const t = await buildTestApp({ CORS_ORIGINS: 'https://a.example, https://b.example', METRICS_ENABLED: 'false', ACCESS_LOG: 'false' });
  try {
    const ok = await t.app.inject({ url: '/formats', headers: { origin: 'https://b.example' } });
    assert.equal(ok.headers['access-control-allow-origin'], 'https://b.example');
    const other = await t.app.inject({ url: '/formats', headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.equal((await t.app.inject({ url: '/metrics' })).statusCode, 404);
    assert.equal(line(t, (l) => l.msg === 'request').length, 0);
  } finally {
    await t.close();
  }
});

test('a worker whose event loop lags past OVERLOAD_MAX_EVENT_LOOP_DELAY_MS sheds load with 503 OVERLOADED; /health answers', async () => {
  const t = await buildTestApp({ OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '50' });
  try {
    let shed: Awaited<ReturnType<typeof t.app.inject>> | undefined;
    // Block the event loop (this process is the worker) until under-pressure has sampled the lag.
    await eventually(async () => {
      const end = Date.now() + 300;
      while (Date.now() < end);
      await new Promise((r) => setImmediate(r));
      const r = await t.app.inject({ url: '/formats' });
      if (r.statusCode === 503) shed = r;
      return shed !== undefined;
    });
    assert.equal(JSON.parse(shed!.payload).code, 'OVERLOADED');
    assert.equal(shed!.headers['retry-after'], '1');
    assert.equal((await t.app.inject({ url: '/health' })).statusCode, 200);
  } finally {
    await t.close();
  }
});

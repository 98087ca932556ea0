import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildTestApp, eventually, fid, fixture } from './helper.js';
import { FakeTelegram } from './fake-telegram.js';
import { RedisServer, redisMissing } from './redis-server.js';

const TGS = fixture('sticker_05.tgs');

describe('readiness follows what Telegram says of the token', () => {
  test('a token Telegram rejects at start makes /health/ready 503 with the reason', async () => {
    const fake = await new FakeTelegram().start();
    const t = await buildTestApp({ TELEGRAM_BOT_TOKEN: '999:wrong-token-abcdefghijklmnopq', TELEGRAM_API_BASE_URL: fake.url }, fake);
    try {
      await eventually(() => fake.getMeCalls > 0 && t.app.telegram!.tokenRejected);
      const ready = await t.app.inject({ url: '/health/ready' });
      assert.equal(ready.statusCode, 503);
      assert.match(JSON.parse(ready.payload).checks.telegramToken, /rejected by Telegram/);
      assert.doesNotMatch(ready.payload, /wrong-token/, 'the token never appears');
    } finally {
      await t.close();
      await fake.close();
    }
  });

  test('a token revoked later: 503 from the first 401, ready again once Telegram accepts it', async () => {
    const t = await buildTestApp();
    try {
      await eventually(() => t.fake.getMeCalls > 0);
      assert.equal((await t.app.inject({ url: '/health/ready' })).statusCode, 200);
      t.fake.add(fid('tok1'), { data: TGS });
      t.fake.revoked = true;
      const res = await t.app.inject({ url: `/stickers/${fid('tok1')}` });
      assert.equal(JSON.parse(res.payload).code, 'TELEGRAM_AUTH_FAILED');
      assert.equal((await t.app.inject({ url: '/health/ready' })).statusCode, 503);
      t.fake.revoked = false;
      await eventually(async () => (await t.app.inject({ url: '/health/ready' })).statusCode === 200);
      assert.equal((await t.app.inject({ url: `/stickers/${fid('tok1')}` })).statusCode, 200);
    } finally {
      await t.close();
    }
  });
});

describe('a Redis that stops answering', { skip: redisMissing }, () => {
  let fake: FakeTelegram;
  let redis: RedisServer;
  before(async () => {
    fake = await new FakeTelegram().start();
    redis = await RedisServer.start();
  });
  after(async () => {
    redis.resume();
    await redis.stop();
    await fake.close();
  });

  test('after a command times out Redis is skipped (REDIS_BREAKER_SEC), and readiness says so', async () => {
    const t = await buildTestApp({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '200', REDIS_BREAKER_SEC: '600', MEMORY_CACHE_MB: '0' }, fake);
    try {
      fake.add(fid('brk1'), { data: TGS });
      redis.pause();
      const res = await t.app.inject({ url: `/stickers/${fid('brk1')}` });
      assert.equal(res.statusCode, 200);
      assert.equal(t.app.redis!.skipping, true);
      const ready = JSON.parse((await t.app.inject({ url: '/health/ready' })).payload);
      assert.equal(ready.status, 'degraded');
      assert.match(ready.checks.cache.redis, /skipped: a command timed out/);
      // While skipped, no command is sent: the error count grows without a wait on the frozen server.
      const errors = t.app.redis!.counters.errors;
      assert.equal((await t.app.inject({ url: `/stickers/${fid('brk1')}` })).statusCode, 200);
      assert.ok(t.app.redis!.counters.errors > errors);
    } finally {
      redis.resume();
      await t.close();
    }
  });

  test("all of a request's Redis commands share one budget (REDIS_REQUEST_BUDGET_MS), not one timeout each", async () => {
    // Each command may wait 20 s, and the breaker is off: only the budget keeps the request short.
    const t = await buildTestApp({ REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '20000', REDIS_BREAKER_SEC: '0', REDIS_REQUEST_BUDGET_MS: '200', MEMORY_CACHE_MB: '0', ENDPOINT_TIMEOUT_SEC: '60' }, fake);
    try {
      fake.add(fid('bud1'), { data: TGS });
      redis.pause();
      const answered = t.app.inject({ url: `/stickers/${fid('bud1')}` }).then((r) => r.statusCode);
      // One command's own limit (20 s) is far away: the answer must come first.
      const first = await Promise.race([answered, sleep(10_000).then(() => 'one command timeout passed first')]);
      assert.equal(first, 200);
    } finally {
      redis.resume();
      await t.close();
    }
  });
});

test('an upstream call nobody waits for any more is cancelled', async () => {
  const t = await buildTestApp({ ENDPOINT_TIMEOUT_SEC: '0.5', MAX_RETRIES: '0' });
  try {
    t.fake.add(fid('hang1'), { data: TGS });
    t.fake.faults.getFile.push({ kind: 'hang' });
    const res = await t.app.inject({ url: `/stickers/${fid('hang1')}` });
    assert.equal(res.statusCode, 504);
    // The held getFile's socket is closed by us, not left open until TELEGRAM_TIMEOUT_SEC (30 s).
    await eventually(() => t.fake.inFlight === 0);
  } finally {
    await t.close();
  }
});

test('a shared flight is cancelled when its last waiter gives up, not before', async () => {
  const { SingleFlight } = await import('../src/singleflight.js');
  const flights = new SingleFlight<string>();
  let cancelled: AbortSignal | undefined;
  const work = (signal: AbortSignal) => {
    cancelled = signal;
    return new Promise<string>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  };
  const a = new AbortController();
  const b = new AbortController();
  const pa = flights.do('k', work, a.signal).catch((e: Error) => e.message);
  const pb = flights.do('k', work, b.signal).catch((e: Error) => e.message);
  a.abort(new Error('a gave up'));
  await Promise.resolve();
  assert.equal(cancelled!.aborted, false, 'b still waits');
  b.abort(new Error('b gave up'));
  assert.equal(cancelled!.aborted, true);
  assert.deepEqual(await Promise.all([pa, pb]), ['b gave up', 'b gave up']);
  // A caller without a signal pins the flight: it is never cancelled.
  const c = new AbortController();
  const pinned = flights.do('p', work);
  void flights.do('p', work, c.signal);
  c.abort(new Error('c gave up'));
  assert.equal(cancelled!.aborted, false);
  void pinned.catch(() => {});
});

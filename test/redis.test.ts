import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { buildTestApp, fixture, fid, type TestApp } from './helper.js';
import { FakeTelegram } from './fake-telegram.js';
import { RedisServer, freePort, redisMissing } from './redis-server.js';

const TGS = fixture('sticker_05.tgs');
const PNG = fixture('static_png_RGBA_80x60.png');
const ADMIN = 'admin-token-0123456789abcdef';
const mainJs = join(__dirname, '..', 'src', 'main.js');

/** Waits until cond() holds, checking on each turn of a short timer; gives up after ms. */
async function eventually(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('Redis tier', { skip: redisMissing }, () => {
  let redis: RedisServer;
  let fake: FakeTelegram;
  before(async () => {
    redis = await RedisServer.start();
    fake = await new FakeTelegram().start();
  });
  after(async () => {
    await redis.stop();
    await fake.close();
  });

  const replica = (env: Record<string, string> = {}) =>
    buildTestApp({ REDIS_URL: redis.url, MEMORY_CACHE_MB: '0', ADMIN_TOKEN: ADMIN, REDIS_KEY_PREFIX: 't1:', ...env }, fake);

  test('a second replica is served from Redis, and two file ids of one sticker share one entry', async () => {
    const a = await replica();
    const b = await replica();
    try {
      fake.add(fid('r1'), { data: TGS, fileUniqueId: 'AgADshared1' }).add(fid('r1other'), { data: TGS, fileUniqueId: 'AgADshared1' });
      fake.resetCounts();
      const first = await a.app.inject({ url: `/stickers/${fid('r1')}`, headers: { 'accept-encoding': 'gzip' } });
      assert.equal(first.headers['x-cache-status'], 'MISS');
      const fromRedis = await b.app.inject({ url: `/stickers/${fid('r1')}`, headers: { 'accept-encoding': 'gzip' } });
      assert.equal(fromRedis.statusCode, 200);
      assert.equal(fromRedis.headers['x-cache-status'], 'HIT');
      assert.deepEqual(fromRedis.rawPayload, TGS);
      assert.equal(fromRedis.headers.etag, first.headers.etag);
      // The identity representation is made from the Redis copy without Telegram.
      const json = await b.app.inject({ url: `/stickers/${fid('r1')}` });
      assert.equal(JSON.parse(json.payload).fr, JSON.parse(first.headers['x-lottie-frame-rate'] as string));
      assert.deepEqual(fake.calls, { getFile: 1, download: 1 });
      // Another file_id of the same sticker: one getFile to learn its file_unique_id, no download.
      const other = await b.app.inject({ url: `/stickers/${fid('r1other')}`, headers: { 'accept-encoding': 'gzip' } });
      assert.deepEqual(other.rawPayload, TGS);
      assert.deepEqual(fake.calls, { getFile: 2, download: 1 });
      assert.equal(redis.cli('--raw', 'KEYS', 't1:e:*').split('\n').filter(Boolean).length, 1);
      const stats = JSON.parse((await b.app.inject({ url: '/cache/stats' })).payload);
      assert.equal(stats.redis.available, true);
      assert.ok(stats.redis.hits >= 2);
      assert.ok(stats.redis.keys >= 3);
      assert.ok(stats.redis.usedMemoryBytes > 0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('values above REDIS_MAX_FILE_SIZE_MB stay out of Redis', async () => {
    const a = await replica({ REDIS_MAX_FILE_SIZE_MB: '0.001', REDIS_KEY_PREFIX: 't2:' });
    try {
      fake.add(fid('big1'), { data: PNG });
      assert.equal((await a.app.inject({ url: `/stickers/${fid('big1')}` })).statusCode, 200);
      assert.equal(redis.cli('--raw', 'KEYS', 't2:e:*'), '');
      const stats = JSON.parse((await a.app.inject({ url: '/cache/stats' })).payload);
      assert.equal(stats.redis.skippedTooLarge, 1);
    } finally {
      await a.close();
    }
  });

  test('DELETE /cache/:fileId reaches every replica; DELETE /cache/all removes only our prefix', async () => {
    const a = await replica({ MEMORY_CACHE_MB: '16', REDIS_KEY_PREFIX: 't3:' });
    const b = await replica({ MEMORY_CACHE_MB: '16', REDIS_KEY_PREFIX: 't3:' });
    try {
      fake.add(fid('del1'), { data: PNG }).add(fid('del2'), { data: TGS });
      for (const id of [fid('del1'), fid('del2')]) {
        await a.app.inject({ url: `/stickers/${id}` });
        await b.app.inject({ url: `/stickers/${id}` });
      }
      assert.equal((await b.app.inject({ url: `/stickers/${fid('del1')}` })).headers['x-cache-status'], 'HIT');
      redis.cli('SET', 'foreign:key', 'keep me');

      const noAuth = await a.app.inject({ method: 'DELETE', url: `/cache/${fid('del1')}` });
      assert.equal(noAuth.statusCode, 401);
      const wrong = await a.app.inject({ method: 'DELETE', url: `/cache/${fid('del1')}`, headers: { authorization: `Bearer ${ADMIN}x` } });
      assert.equal(wrong.statusCode, 401);

      const auth = { authorization: `Bearer ${ADMIN}` };
      const del = await a.app.inject({ method: 'DELETE', url: `/cache/${fid('del1')}`, headers: auth });
      assert.equal(del.statusCode, 200);
      await eventually(() => b.app.memoryCache.peek(fid('del1')) === undefined);
      fake.resetCounts();
      const again = await b.app.inject({ url: `/stickers/${fid('del1')}` });
      assert.equal(again.headers['x-cache-status'], 'MISS');
      assert.equal(fake.calls.download, 1);

      const all = await a.app.inject({ method: 'DELETE', url: '/cache/all', headers: auth });
      assert.equal(all.statusCode, 200);
      assert.ok(JSON.parse(all.payload).redisKeysRemoved >= 3);
      assert.equal(redis.cli('--raw', 'KEYS', 't3:*'), '');
      assert.equal(redis.cli('GET', 'foreign:key'), 'keep me');
      await eventually(() => b.app.memoryCache.stats().items === 0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('cache admin answers 403 when no ADMIN_TOKEN is configured', async () => {
    const a = await buildTestApp({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: 't4:' }, fake);
    try {
      for (const url of ['/cache/all', `/cache/${fid('x')}`]) {
        const res = await a.app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${ADMIN}` } });
        assert.equal(res.statusCode, 403);
        assert.equal(JSON.parse(res.payload).code, 'ADMIN_DISABLED');
      }
    } finally {
      await a.close();
    }
  });

  test('a Telegram 429 seen by one replica pauses the others', async () => {
    const a = await replica({ REDIS_KEY_PREFIX: 't5:', ENDPOINT_TIMEOUT_SEC: '2' });
    const b = await replica({ REDIS_KEY_PREFIX: 't5:', ENDPOINT_TIMEOUT_SEC: '2' });
    try {
      fake.add(fid('p1'), { data: PNG }).add(fid('p2'), { data: PNG });
      fake.faults.getFile.push({ kind: 'status', status: 429, description: 'Too Many Requests: retry after 30', retryAfter: 30 });
      assert.equal((await a.app.inject({ url: `/stickers/${fid('p1')}` })).statusCode, 503);
      fake.resetCounts();
      await eventually(async () => (await b.app.inject({ url: `/stickers/${fid('p2')}` })).statusCode === 503);
      assert.equal(fake.calls.getFile, 0, 'the other replica did not call Telegram while paused');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a lock whose owner died expires, and the next asker takes the fetch over', async () => {
    const a = await replica({ REDIS_KEY_PREFIX: 't6:' });
    try {
      fake.add(fid('orphan'), { data: PNG });
      const lockKey = `t6:lock:{${fid('orphan')}}`;
      redis.cli('SET', lockKey, 'dead-owner', 'PX', '400');
      fake.resetCounts();
      const pending = a.app.inject({ url: `/stickers/${fid('orphan')}` });
      await eventually(() => a.app.stickers.waiting > 0);
      // While the dead owner's lock stands, the asker waits instead of calling Telegram.
      assert.equal(redis.cli('GET', lockKey), 'dead-owner');
      assert.equal(fake.calls.getFile, 0);
      const res = await pending;
      assert.equal(res.statusCode, 200);
      assert.deepEqual(fake.calls, { getFile: 1, download: 1 });
    } finally {
      await a.close();
    }
  });

  test('a failure at the lock owner reaches the waiters without more calls to Telegram', async () => {
    const a = await replica({ REDIS_KEY_PREFIX: 't7:' });
    const b = await replica({ REDIS_KEY_PREFIX: 't7:' });
    try {
      fake.resetCounts();
      fake.delayMs = 100;
      const [ra, rb] = await Promise.all([a.app.inject({ url: `/stickers/${fid('nosuch')}` }), b.app.inject({ url: `/stickers/${fid('nosuch')}` })]);
      assert.equal(ra.statusCode, 400);
      assert.equal(rb.statusCode, 400);
      assert.equal(fake.calls.getFile, 1);
    } finally {
      fake.delayMs = 0;
      await a.close();
      await b.close();
    }
  });

  test('rate limiting is one budget across replicas; /health is exempt; X-Forwarded-For is ignored by default', async () => {
    const env = { REDIS_KEY_PREFIX: 't8:', RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_REQUESTS: '3', RATE_LIMIT_WINDOW_SEC: '60' };
    const a = await replica(env);
    const b = await replica(env);
    try {
      const codes: number[] = [];
      for (const [app, xff] of [[a, '1.1.1.1'], [b, '2.2.2.2'], [a, '3.3.3.3'], [b, '4.4.4.4']] as const) {
        const res = await app.app.inject({ url: '/formats', headers: { 'x-forwarded-for': xff } });
        codes.push(res.statusCode);
        if (res.statusCode === 200) assert.equal(res.headers['x-ratelimit-limit'], '3');
        if (res.statusCode === 429) {
          assert.ok(Number(res.headers['retry-after']) > 0);
          assert.equal(res.headers['x-ratelimit-remaining'], '0');
          assert.equal(JSON.parse(res.payload).code, 'RATE_LIMITED');
        }
      }
      assert.deepEqual(codes, [200, 200, 200, 429]);
      assert.equal((await b.app.inject({ url: '/health' })).statusCode, 200);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('Redis going away degrades to memory and Telegram with no 5xx, and is used again when it returns', async () => {
    const own = await RedisServer.start();
    const a = await buildTestApp({ REDIS_URL: own.url, ADMIN_TOKEN: ADMIN, MEMORY_CACHE_MB: '0', REDIS_TIMEOUT_MS: '200' }, fake);
    try {
      fake.add(fid('down1'), { data: PNG });
      assert.equal((await a.app.inject({ url: `/stickers/${fid('down1')}` })).statusCode, 200);
      await own.stop();
      await eventually(() => !a.app.redis!.available);
      const ready = JSON.parse((await a.app.inject({ url: '/health/ready' })).payload);
      assert.equal(ready.status, 'degraded');
      const during = await Promise.all(Array.from({ length: 20 }, () => a.app.inject({ url: `/stickers/${fid('down1')}` })));
      for (const r of during) assert.equal(r.statusCode, 200);
      await own.start();
      await eventually(() => a.app.redis!.available);
      assert.equal(JSON.parse((await a.app.inject({ url: '/health/ready' })).payload).status, 'ready');
      await a.app.inject({ url: `/stickers/${fid('down1')}` }); // stores it in the fresh Redis
      fake.resetCounts();
      const hit = await a.app.inject({ url: `/stickers/${fid('down1')}` });
      assert.equal(hit.headers['x-cache-status'], 'HIT');
      assert.equal(fake.calls.download, 0);
    } finally {
      await a.close();
      await own.stop();
    }
  });
});

describe('one fetch for many askers across processes', { skip: redisMissing }, () => {
  test('2 replicas x 2 workers sharing Redis: 200 concurrent requests make one getFile and one download', { timeout: 60_000 }, async () => {
    const redis = await RedisServer.start();
    const fake = await new FakeTelegram().start();
    fake.add(fid('crowd'), { data: TGS });
    fake.delayMs = 150;
    const ports = [await freePort(), await freePort()];
    const children = ports.map((port) =>
      spawn(process.execPath, [mainJs], {
        env: { ...process.env, WORKERS: '2', SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url, REDIS_URL: redis.url, MAX_PROCESS_WORKERS: '1', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
    );
    const agent = new Agent({ connections: 100 });
    try {
      for (const port of ports) {
        await eventually(async () => {
          try {
            const r = await request(`http://127.0.0.1:${port}/health/ready`, { dispatcher: agent });
            const body = (await r.body.json()) as { status: string };
            return body.status === 'ready';
          } catch {
            return false;
          }
        }, 20_000);
      }
      const bodies = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const r = await request(`http://127.0.0.1:${ports[i % 2]}/stickers/${fid('crowd')}`, { dispatcher: agent, headers: { 'accept-encoding': 'gzip' } });
          assert.equal(r.statusCode, 200);
          return Buffer.from(await r.body.arrayBuffer());
        }),
      );
      for (const b of bodies) assert.deepEqual(b, TGS);
      assert.deepEqual(fake.calls, { getFile: 1, download: 1 });
    } finally {
      await agent.close();
      await Promise.all(
        children.map((c) => {
          const exited = new Promise((r) => c.once('exit', r));
          c.kill('SIGTERM');
          return exited;
        }),
      );
      await fake.close();
      await redis.stop();
    }
  });
});

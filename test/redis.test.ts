import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { buildTestApp, eventually, fixture, fid, type TestApp } from './helper.js';
import { FakeTelegram } from './fake-telegram.js';
import { RedisServer, RedisClusterServers, freePort, redisMissing } from './redis-server.js';

const TGS = fixture('sticker_05.tgs');
const PNG = fixture('static_png_RGBA_80x60.png');
const ADMIN = 'admin-token-0123456789abcdef';
const mainJs = join(__dirname, '..', 'src', 'main.js');

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
      // A replica that starts during the pause reads it from Redis.
      const late = await replica({ REDIS_KEY_PREFIX: 't5:', ENDPOINT_TIMEOUT_SEC: '2' });
      try {
        assert.equal((await late.app.inject({ url: `/stickers/${fid('p2')}` })).statusCode, 503);
        assert.equal(fake.calls.getFile, 0);
      } finally {
        await late.close();
      }
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
      const waited = await Promise.all([a, b].map(async (t) => JSON.parse((await t.app.inject({ url: '/cache/stats' })).payload).coalescedAcrossProcesses));
      assert.deepEqual(waited.sort(), [0, 1]);
    } finally {
      fake.delayMs = 0;
      await a.close();
      await b.close();
    }
  });

  test('TELEGRAM_GLOBAL_RPS is one outbound budget for all replicas', async () => {
    const env = { REDIS_KEY_PREFIX: 't9:', TELEGRAM_GLOBAL_RPS: '4' };
    const a = await replica(env);
    const b = await replica(env);
    try {
      const ids = Array.from({ length: 6 }, (_, i) => fid(`rps${i}`));
      for (const id of ids) fake.add(id, { data: PNG });
      fake.resetCounts();
      const res = await Promise.all(ids.map((id, i) => (i % 2 ? a : b).app.inject({ url: `/stickers/${id}` })));
      for (const r of res) assert.equal(r.statusCode, 200);
      assert.equal(fake.callTimes.length, 12);
      // The budget counts by the second in which the service let a call go (arrival at Telegram can fall
      // into the next one), so the per-second grants are read from Redis, where they are exact.
      const seconds = redis.cli('--raw', 'KEYS', 't9:tg:budget:*').split('\n').filter(Boolean);
      const granted = seconds.map((k) => Number(redis.cli('GET', k)));
      assert.equal(granted.reduce((a, b) => a + b, 0), 12, `grants per second: ${granted.join(',')}`);
      assert.ok(Math.max(...granted) <= 4, `grants per second: ${granted.join(',')}`);
      assert.ok(granted.length >= 3, '12 calls at 4 a second span at least three seconds');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('with TRUST_PROXY=true the client address comes from X-Forwarded-For', async () => {
    const a = await replica({ REDIS_KEY_PREFIX: 't10:', RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_REQUESTS: '1', TRUST_PROXY: 'true' });
    try {
      const codes = [];
      for (const xff of ['1.1.1.1', '2.2.2.2', '1.1.1.1']) codes.push((await a.app.inject({ url: '/formats', headers: { 'x-forwarded-for': xff } })).statusCode);
      assert.deepEqual(codes, [200, 200, 429]);
    } finally {
      await a.close();
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
        if (res.statusCode === 200) {
          assert.equal(res.headers['x-ratelimit-limit'], '3');
          assert.ok(Number(res.headers['x-ratelimit-reset']) > 0);
        }
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

  test('Redis killed under load: no 5xx, /health/ready says degraded, and Redis hits come back after it restarts', async () => {
    const own = await RedisServer.start();
    const a = await buildTestApp({ REDIS_URL: own.url, MEMORY_CACHE_MB: '0', REDIS_TIMEOUT_MS: '200' }, fake);
    const ids = Array.from({ length: 5 }, (_, i) => fid(`load${i}`));
    for (const id of ids) fake.add(id, { data: i2data(id) });
    const statuses: number[] = [];
    let running = true;
    // Four clients asking in a loop for the whole test.
    const loops = Array.from({ length: 4 }, async (_, k) => {
      for (let i = 0; running; i++) {
        const res = await a.app.inject({ url: `/stickers/${ids[(i + k) % ids.length]}`, headers: i % 2 ? { 'accept-encoding': 'gzip' } : {} });
        statuses.push(res.statusCode);
      }
    });
    try {
      await eventually(() => statuses.length > 50);
      await own.stop();
      await eventually(() => !a.app.redis!.available);
      const before = statuses.length;
      assert.equal(JSON.parse((await a.app.inject({ url: '/health/ready' })).payload).status, 'degraded');
      await eventually(() => statuses.length > before + 100);
      await own.start();
      await eventually(() => a.app.redis!.available);
      assert.equal(JSON.parse((await a.app.inject({ url: '/health/ready' })).payload).status, 'ready');
      const hitsBefore = a.app.redis!.counters.hits;
      await eventually(() => a.app.redis!.counters.hits > hitsBefore + 20);
    } finally {
      running = false;
      await Promise.all(loops);
      await a.close();
      await own.stop();
    }
    assert.ok(statuses.length > 150);
    assert.deepEqual([...new Set(statuses)], [200]);
  });
});

function i2data(id: string): Buffer {
  return id.endsWith('0') || id.endsWith('2') ? TGS : PNG;
}

describe('one fetch for many askers across processes', { skip: redisMissing }, () => {
  test('2 replicas x 2 workers sharing Redis: 200 concurrent requests make one getFile and one download', { timeout: 60_000 }, async () => {
    const redis = await RedisServer.start();
    const fake = await new FakeTelegram().start();
    fake.add(fid('crowd'), { data: TGS });
    fake.delayMs = 150;
    const ports = [await freePort(), await freePort()];
    const children = ports.map((port) =>
      spawn(process.execPath, [mainJs], {
        env: { ...process.env, DISK_CACHE_ENABLED: 'false', WORKERS: '2', SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url, REDIS_URL: redis.url, MAX_PROCESS_WORKERS: '1', LOG_LEVEL: 'warn' },
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

describe('lock owner killed mid-fetch', { skip: redisMissing }, () => {
  test('a replica killed while it holds the lock: another takes the fetch over once the lock expires', { timeout: 60_000 }, async () => {
    const redis = await RedisServer.start();
    const fake = await new FakeTelegram().start();
    fake.add(fid('killed'), { data: PNG });
    const port = await freePort();
    // The doomed replica: WORKERS=1, its lock lives ENDPOINT_TIMEOUT_SEC (1.5 s).
    const doomed = spawn(process.execPath, [mainJs], {
      env: { ...process.env, DISK_CACHE_ENABLED: 'false', WORKERS: '1', SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url, REDIS_URL: redis.url, ENDPOINT_TIMEOUT_SEC: '1.5', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const survivor = await buildTestApp({ REDIS_URL: redis.url, ENDPOINT_TIMEOUT_SEC: '10' }, fake);
    try {
      await eventually(async () => {
        try {
          const r = await request(`http://127.0.0.1:${port}/health/ready`);
          return ((await r.body.json()) as { status: string }).status === 'ready';
        } catch {
          return false;
        }
      }, 20_000);
      fake.faults.getFile.push({ kind: 'hang' });
      const doomedRequest = request(`http://127.0.0.1:${port}/stickers/${fid('killed')}`).catch(() => undefined);
      await eventually(() => fake.calls.getFile === 1); // the doomed replica owns the lock and is fetching
      assert.equal(redis.cli('EXISTS', `sticker:lock:{${fid('killed')}}`), '1');
      const workers = spawnSyncPs(doomed.pid!);
      for (const pid of [doomed.pid!, ...workers]) process.kill(pid, 'SIGKILL');
      await doomedRequest;

      const res = await survivor.app.inject({ url: `/stickers/${fid('killed')}` });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.rawPayload, PNG);
      assert.equal(fake.calls.getFile, 2, 'the survivor fetched after the dead owner');
      assert.equal(JSON.parse((await survivor.app.inject({ url: '/cache/stats' })).payload).coalescedAcrossProcesses, 1);
    } finally {
      if (doomed.exitCode === null) doomed.kill('SIGKILL');
      await survivor.close();
      await fake.close();
      await redis.stop();
    }
  });
});

function spawnSyncPs(parent: number): number[] {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(parent)], { encoding: 'utf8' }).stdout;
  return out.split(/\s+/).filter(Boolean).map(Number);
}

describe('Redis Cluster', { skip: redisMissing }, () => {
  test('3 masters: shared entries, cross-slot admin operations and the fetch lock work', { timeout: 60_000 }, async () => {
    const cluster = await RedisClusterServers.start();
    const fake = await new FakeTelegram().start();
    // A generous command timeout: it also bounds how long start-up waits for the cluster's slot map.
    const env = { REDIS_CLUSTER_NODES: cluster.nodeList, MEMORY_CACHE_MB: '0', ADMIN_TOKEN: ADMIN, REDIS_TIMEOUT_MS: '2000' };
    const a = await buildTestApp(env, fake);
    const b = await buildTestApp(env, fake);
    try {
      await eventually(() => a.app.redis!.available && b.app.redis!.available);
      const ids = Array.from({ length: 12 }, (_, i) => fid(`cl${i}`));
      for (const id of ids) fake.add(id, { data: TGS, fileUniqueId: `AgADuid${id}` });
      for (const id of ids) assert.equal((await a.app.inject({ url: `/stickers/${id}`, headers: { 'accept-encoding': 'gzip' } })).statusCode, 200);
      fake.resetCounts();
      for (const id of ids) {
        const res = await b.app.inject({ url: `/stickers/${id}`, headers: { 'accept-encoding': 'gzip' } });
        assert.equal(res.headers['x-cache-status'], 'HIT');
        assert.deepEqual(res.rawPayload, TGS);
      }
      assert.equal(fake.calls.download, 0);
      // Keys are spread over the masters, and the stats add them up.
      const perNode = cluster.nodes.map((n) => Number(n.cli('DBSIZE')));
      assert.ok(perNode.filter((k) => k > 0).length >= 2, `keys on more than one master: ${perNode.join(',')}`);
      const stats = JSON.parse((await a.app.inject({ url: '/cache/stats' })).payload);
      assert.equal(stats.redis.keys, perNode.reduce((x, y) => x + y, 0));

      fake.delayMs = 100;
      fake.add(fid('clhot'), { data: PNG });
      const both = await Promise.all([a, b, a, b].map((t) => t.app.inject({ url: `/stickers/${fid('clhot')}` })));
      for (const r of both) assert.equal(r.statusCode, 200);
      assert.deepEqual(fake.calls, { getFile: 1, download: 1 });
      fake.delayMs = 0;

      const del = await a.app.inject({ method: 'DELETE', url: `/cache/${ids[0]}`, headers: { authorization: `Bearer ${ADMIN}` } });
      assert.equal(del.statusCode, 200);
      assert.equal((await b.app.inject({ url: `/stickers/${ids[0]}` })).headers['x-cache-status'], 'MISS');
      const all = await a.app.inject({ method: 'DELETE', url: '/cache/all', headers: { authorization: `Bearer ${ADMIN}` } });
      assert.equal(all.statusCode, 200);
      assert.deepEqual(cluster.nodes.map((n) => n.cli('DBSIZE')), ['0', '0', '0']);
    } finally {
      await a.close();
      await b.close();
      await fake.close();
      await cluster.stop();
    }
  });
});

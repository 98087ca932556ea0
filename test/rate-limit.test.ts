import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, eventually, fid, fixture, type TestApp } from './helper.js';
import { FakeTelegram } from './fake-telegram.js';
import { RedisServer, redisMissing } from './redis-server.js';

const TGS = fixture('sticker_05.tgs');

/** Sends n requests to /formats from one client address; returns the statuses. */
async function hammer(t: TestApp, n: number, ip = '9.9.9.9'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await t.app.inject({ url: '/formats', remoteAddress: ip })).statusCode);
  return out;
}
const passed = (codes: number[]) => codes.filter((c) => c === 200).length;

describe('rate limit without Redis', () => {
  let fake: FakeTelegram;
  before(async () => (fake = await new FakeTelegram().start()));
  after(() => fake.close());

  test('each of WORKERS processes keeps its share of the budget, so the host keeps to it', async () => {
    const env = { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_REQUESTS: '10', WORKERS: '2' };
    // Two apps in one test process stand for the two cluster workers.
    const a = await buildTestApp(env, fake);
    const b = await buildTestApp(env, fake);
    try {
      const codes = [...(await hammer(a, 12)), ...(await hammer(b, 12))];
      assert.equal(passed(codes), 10);
      const last = await a.app.inject({ url: '/formats', remoteAddress: '9.9.9.9' });
      assert.equal(last.statusCode, 429);
      assert.equal(last.headers['x-ratelimit-remaining'], '0');
      assert.equal(passed(await hammer(a, 3, '8.8.8.8')), 3, 'another client has its own budget');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('conversions have their own stricter budget; cached results are not charged', async () => {
    const t = await buildTestApp({ RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_REQUESTS: '100', RATE_LIMIT_CONVERSIONS: '1', WORKERS: '1' }, fake);
    try {
      fake.add(fid('rl1'), { data: TGS });
      const get = (q: string) => t.app.inject({ url: `/stickers/${fid('rl1')}${q}`, remoteAddress: '7.7.7.7' });
      assert.equal((await get('')).statusCode, 200, 'the sticker as stored is no conversion');
      assert.equal((await get('?format=png&size=32')).statusCode, 200);
      assert.equal((await get('?format=png&size=32')).statusCode, 200, 'a cached variant is served');
      const refused = await get('?format=png&size=48');
      assert.equal(refused.statusCode, 429);
      assert.equal(JSON.parse(refused.payload).code, 'CONVERSIONS_LIMITED');
      assert.ok(Number(refused.headers['retry-after']) > 0);
      const upload = await t.app.inject({ method: 'POST', url: '/convert?format=png', payload: TGS, remoteAddress: '7.7.7.7' });
      assert.equal(upload.statusCode, 429, 'uploads are conversions');
      assert.equal((await t.app.inject({ url: `/stickers/${fid('rl1')}?format=png&size=48`, remoteAddress: '6.6.6.6' })).statusCode, 200);
    } finally {
      await t.close();
    }
  });
});

describe('rate limit with Redis gone', { skip: redisMissing }, () => {
  let fake: FakeTelegram;
  before(async () => (fake = await new FakeTelegram().start()));
  after(() => fake.close());

  const withDeadRedis = async (env: Record<string, string>, run: (a: TestApp, b: TestApp) => Promise<void>) => {
    const redis = await RedisServer.start();
    const cfg = { REDIS_URL: redis.url, REDIS_TIMEOUT_MS: '200', RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_REQUESTS: '10', WORKERS: '2', ...env };
    const a = await buildTestApp(cfg, fake);
    const b = await buildTestApp(cfg, fake);
    try {
      await redis.stop();
      await eventually(() => !a.app.redis!.available && !b.app.redis!.available);
      await run(a, b);
    } finally {
      await a.close();
      await b.close();
    }
  };

  test('falls back to each process keeping its share: no more than the budget passes', async () => {
    await withDeadRedis({}, async (a, b) => {
      const codes = [...(await hammer(a, 30)), ...(await hammer(b, 30))];
      assert.equal(passed(codes), 10);
    });
  });

  test('RATE_LIMIT_FAIL_OPEN=true lets everything through instead', async () => {
    await withDeadRedis({ RATE_LIMIT_FAIL_OPEN: 'true' }, async (a, b) => {
      const codes = [...(await hammer(a, 30)), ...(await hammer(b, 30))];
      assert.equal(passed(codes), 60);
    });
  });
});

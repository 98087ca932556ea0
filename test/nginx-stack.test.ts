import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { get as httpGet, Agent } from 'node:http';
import { request } from 'undici';
import { FakeTelegram } from './fake-telegram.js';
import { fid, fixture } from './helper.js';
import { NginxProxy, nginxMissing } from './nginx.js';
import { RedisServer, redisMissing } from './redis-server.js';
import { exited, startService } from './service-process.js';

const RATE_LIMIT = 50;
/** A GET from a given loopback source address: clients of the proxy are told apart by it (nginx passes it as X-Forwarded-For). */
const agent = new Agent({ keepAlive: true, maxSockets: 16 });
function get(url: string, from: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { localAddress: from, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
    }).once('error', reject);
  });
}
const stickerRequests = async (instancePort: number) => {
  const r = await request(`http://127.0.0.1:${instancePort}/metrics`);
  const m = /http_requests_total\{method="GET",route="\/stickers\/:fileId",status="200"\} (\d+)/.exec(await r.body.text());
  return Number(m?.[1] ?? 0);
};

describe('nginx in front of three instances sharing one redis-server (the docker-compose stack)', { skip: nginxMissing ?? redisMissing }, () => {
  let redis: RedisServer;
  let fake: FakeTelegram;
  let instances: Array<Awaited<ReturnType<typeof startService>>>;
  let proxy: NginxProxy;
  before(async () => {
    redis = await RedisServer.start();
    fake = await new FakeTelegram().start();
    const env = {
      WORKERS: '1', REDIS_URL: redis.url, TRUST_PROXY: 'true', DISK_CACHE_ENABLED: 'false',
      RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_REQUESTS: String(RATE_LIMIT), RATE_LIMIT_WINDOW_SEC: '600',
    }; // prettier-ignore
    instances = await Promise.all([0, 1, 2].map(() => startService(fake, env)));
    proxy = await new NginxProxy().start(instances.map((i) => i.port));
  });
  after(async () => {
    agent.destroy();
    await proxy?.stop();
    for (const i of instances ?? []) i.child.kill('SIGTERM');
    await Promise.all((instances ?? []).map((i) => exited(i.child)));
    await fake?.close();
    await redis?.stop();
  });

  test('concurrent requests for four new stickers, spread over the instances: one getFile and one download each', { timeout: 60_000 }, async () => {
    const ids = [0, 1, 2, 3].map((n) => fid(`nginx${n}`));
    const files = ['sticker_05.tgs', 'sticker_02.tgs', 'static_webp_800x600.webp', 'sticker_05.tgs'].map(fixture);
    ids.forEach((id, n) => fake.add(id, { data: files[n] }));
    fake.delayMs = 200; // the requests overlap the fetch; the counts below hold however they interleave
    try {
      const answers = await Promise.all(
        ids.flatMap((id, n) => Array.from({ length: 10 }, async () => ({ n, ...(await get(`${proxy.url}/stickers/${id}`, '127.0.0.3', { 'accept-encoding': 'gzip' })) }))),
      );
      for (const a of answers) {
        assert.equal(a.status, 200);
        assert.ok(a.body.equals(files[a.n]), `sticker ${a.n} came back as Telegram has it`);
      }
      assert.deepEqual(fake.calls, { getFile: 4, download: 4 });
      const perInstance = await Promise.all(instances.map((i) => stickerRequests(i.port)));
      assert.equal(perInstance.reduce((a, b) => a + b, 0), 40);
      assert.ok(perInstance.every((n) => n > 0), `every instance served some (${perInstance.join(', ')})`);
    } finally {
      fake.delayMs = 0;
    }
  });

  test('one rate limit across the instances, keyed by the client address nginx passes (a client cannot pick another)', { timeout: 60_000 }, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT + 10; i++) statuses.push((await get(`${proxy.url}/formats`, '127.0.0.2')).status);
    assert.equal(statuses.filter((s) => s === 200).length, RATE_LIMIT, 'the budget is one for the three instances');
    assert.deepEqual(statuses.slice(RATE_LIMIT), Array(10).fill(429));
    const spoofed = await get(`${proxy.url}/formats`, '127.0.0.2', { 'x-forwarded-for': '203.0.113.9' });
    assert.equal(spoofed.status, 429, 'X-Forwarded-For from the client is replaced by nginx');
    assert.equal((await get(`${proxy.url}/formats`, '127.0.0.4')).status, 200, 'another client has its own budget');
  });
});

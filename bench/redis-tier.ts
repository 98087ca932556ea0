import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { FakeTelegram } from '../test/fake-telegram.js';
import { RedisServer } from '../test/redis-server.js';
import { fixtures, printComparison, rotateConfigs, stickerFiles } from './lib.js';

/**
 * Redis-tier hits (in-process tier off) next to in-process hits, and REDIS_MAX_CONNECTIONS 1 vs 4, for the
 * service (WORKERS=2) against an instant fake Telegram and a local redis-server. Configurations run one at a
 * time, rotated BENCH_REPEATS times; medians reported.
 * Env: BENCH_DURATION (default 10s), BENCH_CONNECTIONS ("64,1000"), BENCH_REPEATS (3).
 */
const duration = process.env.BENCH_DURATION ?? '10s';
const connectionSets = (process.env.BENCH_CONNECTIONS ?? '64,1000').split(',').map(Number);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);

const configs = [
  { name: 'in-process hits (Redis configured)', env: { MEMORY_CACHE_MB: '64', REDIS_MAX_CONNECTIONS: '1' } },
  { name: 'Redis-tier hits, REDIS_MAX_CONNECTIONS=4', env: { MEMORY_CACHE_MB: '0', REDIS_MAX_CONNECTIONS: '4' } },
  { name: 'Redis-tier hits, REDIS_MAX_CONNECTIONS=1', env: { MEMORY_CACHE_MB: '0', REDIS_MAX_CONNECTIONS: '1' } },
];

async function main() {
  const redis = await RedisServer.start(['--maxmemory', '512mb', '--maxmemory-policy', 'allkeys-lru']);
  const fake = await new FakeTelegram().start();
  const files = stickerFiles();
  const ids = files.map((_, i) => `CAACAgIAAxkBAAEredis${i}`);
  files.forEach((f, i) => fake.add(ids[i], { data: readFileSync(join(fixtures, f)) }));
  // One 4 MiB value among the small ones: does a big GET on a shared connection hold up the rest?
  const bigId = 'CAACAgIAAxkBAAEredisBIG';
  fake.add(bigId, { data: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(4 * 1024 * 1024)]) });

  const scenarios = connectionSets.flatMap((c) => [
    { label: `ten stickers, gzip, ${c} conns`, paths: ids.map((id) => `/stickers/${id}`), connections: c },
    { label: `ten stickers + one 4 MiB value, ${c} conns`, paths: [...ids, bigId].map((id) => `/stickers/${id}`), connections: c },
  ]);
  const results = await rotateConfigs({
    configs,
    scenarios,
    repeats,
    duration,
    env: { TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url, REDIS_URL: redis.url, DISK_CACHE_ENABLED: 'false' },
    warm: async (base) => {
      for (let i = 0; i < 8; i++) {
        for (const id of [...ids, bigId]) {
          const res = await request(`${base}/stickers/${id}`, { headers: { 'accept-encoding': 'gzip' }, reset: true });
          await res.body.dump();
        }
      }
    },
  });
  await fake.close();
  await redis.stop();

  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; redis-server ${readRedisVersion()} on the same cores; wrk -t2 ${duration}; medians of ${repeats} rotations\n`);
  printComparison(configs, scenarios, results, 'in-process');
}

function readRedisVersion(): string {
  try {
    return /v=(\S+)/.exec(require('node:child_process').execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

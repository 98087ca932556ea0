import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { FakeTelegram } from '../test/fake-telegram.js';
import { NginxProxy } from '../test/nginx.js';
import { RedisServer } from '../test/redis-server.js';
import { exited, startService } from '../test/service-process.js';
import { fixtures, median, medianRun, stickerFiles, wrk, type WrkResult } from './lib.js';

/**
 * The docker-compose stack on loopback: Debian's nginx (deploy/nginx/nginx.conf, one nginx worker) in front
 * of one, two and three instances (WORKERS=1 each) sharing one redis-server, next to one instance with no
 * proxy. Cache hits (ten stickers, gzip) and "new to this instance" requests (Redis hits: each request asks
 * for a sticker the instance has not served, so the memory tier misses), driven by wrk, medians of
 * BENCH_REPEATS rotations. Env: BENCH_DURATION (10s), BENCH_CONNECTIONS (64), BENCH_REPEATS (3).
 */
const duration = process.env.BENCH_DURATION ?? '10s';
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const files = stickerFiles().map((f) => readFileSync(join(fixtures, f)));
const ids = files.map((_, i) => `CAACAgIAAxkBAAEinst${i}`);

const configs = [
  { name: 'one instance, no proxy', instances: 1, proxy: false },
  { name: 'nginx + 1 instance', instances: 1, proxy: true },
  { name: 'nginx + 2 instances', instances: 2, proxy: true },
  { name: 'nginx + 3 instances', instances: 3, proxy: true },
];

async function main() {
  const redis = await RedisServer.start();
  const fake = await new FakeTelegram().start();
  ids.forEach((id, i) => fake.add(id, { data: files[i] }));
  const results = new Map<string, WrkResult[]>();
  const record = (key: string, r: WrkResult) => {
    results.set(key, [...(results.get(key) ?? []), r]);
    console.error(key, r);
  };
  // MEMORY_CACHE_MB=0 for the second scenario: every request is answered from Redis.
  for (let round = 0; round < repeats; round++) {
    for (const cfg of configs) {
      for (const [scenario, env] of [
        ['cache hits (memory tier)', {}],
        ['Redis hits (no memory tier)', { MEMORY_CACHE_MB: '0' }],
      ] as const) {
        const instances = await Promise.all(
          Array.from({ length: cfg.instances }, () => startService(fake, { WORKERS: '1', REDIS_URL: redis.url, TRUST_PROXY: 'true', DISK_CACHE_ENABLED: 'false', LOG_LEVEL: 'info', ...env })),
        );
        const proxy = cfg.proxy ? await new NginxProxy().start(instances.map((i) => i.port)) : undefined;
        const base = proxy?.url ?? instances[0].base;
        for (let i = 0; i < cfg.instances * 2; i++) {
          for (const id of ids) await (await request(`${base}/stickers/${id}`, { headers: { 'accept-encoding': 'gzip' } })).body.dump();
        }
        record(`${cfg.name}|${scenario}`, wrk(base, ids.map((id) => `/stickers/${id}`), connections, true, duration));
        await proxy?.stop();
        for (const i of instances) i.child.kill('SIGTERM');
        await Promise.all(instances.map((i) => exited(i.child)));
      }
    }
  }
  await fake.close();
  await redis.stop();

  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; wrk -t2 -c${connections} on the same cores; ${duration} per run; medians of ${repeats} rotations\n`);
  console.log('| scenario | configuration | req/s | p50 ms | p99 ms | errors (all runs) | vs no proxy |');
  console.log('|---|---|---|---|---|---|---|');
  for (const scenario of ['cache hits (memory tier)', 'Redis hits (no memory tier)']) {
    const ref = medianRun(results.get(`${configs[0].name}|${scenario}`)!);
    for (const cfg of configs) {
      const runs = results.get(`${cfg.name}|${scenario}`)!;
      const m = medianRun(runs);
      const errors = runs.reduce((n, r) => n + r.errors + r.non2xx, 0);
      console.log(`| ${scenario} | ${cfg.name} | ${median(runs.map((r) => r.rps)).toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${errors} | ${(m.rps / ref.rps).toFixed(2)} |`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

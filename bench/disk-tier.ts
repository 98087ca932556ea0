import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { FakeTelegram } from '../test/fake-telegram.js';
import { RedisServer } from '../test/redis-server.js';
import { openDiskStore } from '../src/disk/store.js';
import { DiskTier } from '../src/disk/tier.js';
import { makeEntry } from '../src/model/entry.js';
import { createLogger } from '../src/logger.js';
import { fixtures, median, printComparison, rotateConfigs, stickerFiles, type BenchConfig } from './lib.js';

/**
 * The disk tier: (1) its hits through the service (WORKERS=2, in-process tier off) next to in-process hits
 * and Redis-tier hits, at 64 and 1000 connections; (2) lookups and inserts per second on a store of
 * BENCH_ENTRIES entries, with eviction; (3) the time to open a full store and serve its first hit.
 * Env: BENCH_DURATION (10s), BENCH_CONNECTIONS ("64,1000"), BENCH_REPEATS (3), BENCH_ENTRIES (100000),
 * BENCH_PART ("1,2,3,4"); part 4: the plain-files alternative (write to a temporary name and rename, read
 * the file), for the same entries, without the index, eviction or locking it would still need.
 */
const duration = process.env.BENCH_DURATION ?? '10s';
const connectionSets = (process.env.BENCH_CONNECTIONS ?? '64,1000').split(',').map(Number);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const entries = Number(process.env.BENCH_ENTRIES ?? 100_000);
const parts = new Set((process.env.BENCH_PART ?? '1,2,3,4').split(','));
const log = createLogger({ level: 'warn', secrets: [] });

async function throughService(): Promise<void> {
  const redis = await RedisServer.start(['--maxmemory', '512mb', '--maxmemory-policy', 'allkeys-lru']);
  const fake = await new FakeTelegram().start();
  const files = stickerFiles();
  const ids = files.map((_, i) => `CAACAgIAAxkBAAEdisk${i}`);
  files.forEach((f, i) => fake.add(ids[i], { data: readFileSync(join(fixtures, f)) }));
  const dir = () => mkdtempSync(join(tmpdir(), 'sp-bench-disk-'));
  const configs: BenchConfig[] = [
    { name: 'in-process hits', env: { MEMORY_CACHE_MB: '64', DISK_CACHE_DIR: dir() } },
    { name: 'disk-tier hits (in-process off)', env: { MEMORY_CACHE_MB: '0', DISK_CACHE_DIR: dir() } },
    { name: 'Redis-tier hits (in-process and disk off)', env: { MEMORY_CACHE_MB: '0', DISK_CACHE_ENABLED: 'false', REDIS_URL: redis.url } },
  ];
  const scenarios = connectionSets.map((c) => ({ label: `ten stickers, gzip, ${c} conns`, paths: ids.map((id) => `/stickers/${id}`), connections: c }));
  const results = await rotateConfigs({
    configs,
    scenarios,
    repeats,
    duration,
    env: { TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url },
    warm: async (base) => {
      for (let i = 0; i < 4; i++) {
        for (const id of ids) await (await request(`${base}/stickers/${id}`, { headers: { 'accept-encoding': 'gzip' }, reset: true })).body.dump();
      }
    },
  });
  await fake.close();
  await redis.stop();
  console.log(`\n(1) Through the service, WORKERS=2, wrk -t2 ${duration}, medians of ${repeats} rotations:\n`);
  printComparison(configs, scenarios, results, 'in-process');
}

/** A stored sticker of about the corpus's median size (20 KB), distinct per index. */
function entry(i: number) {
  const plain = Buffer.alloc(20_000, i % 251);
  plain.writeUInt32BE(i, 0);
  return makeEntry({ fileUniqueId: `U${i}`, original: 'webp', output: 'webp', contentType: 'image/webp', isConverted: false, conversionMs: 0, plain });
}

async function storeSpeed(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sp-bench-store-'));
  // Room for all of them, then a tenth more than that so the last inserts evict.
  const cfg = { dir, maxBytes: Math.floor(entries * 20_700 * 0.9), ttlMs: 86_400_000, cleanupIntervalMs: 86_400_000, maxValueBytes: 50 * 1024 * 1024 };
  const tier = new DiskTier(openDiskStore(cfg, log)!, cfg, log);
  let t = performance.now();
  const batch = 1000;
  for (let i = 0; i < entries; i += batch) await Promise.all(Array.from({ length: batch }, (_, k) => tier.set(`F${i + k}`, entry(i + k))));
  const insertS = (performance.now() - t) / 1000;
  const totals = tier.totals();
  const lookups: number[] = [];
  for (let round = 0; round < 3; round++) {
    t = performance.now();
    let hits = 0;
    for (let k = 0; k < 20_000; k++) if (await tier.get(`F${Math.floor(Math.random() * entries)}`)) hits++;
    lookups.push(20_000 / ((performance.now() - t) / 1000));
    if (hits === 0) throw new Error('no hits');
  }
  await tier.close();
  return `(2) ${entries} entries of 20 KB, inserted ${batch} at a time: ${(entries / insertS).toFixed(0)} inserts/s (${insertS.toFixed(1)} s); after eviction ${totals.entries} entries, ${(totals.bytes / 2 ** 20).toFixed(0)} MiB within ${(cfg.maxBytes / 2 ** 20).toFixed(0)} MiB, ${totals.evictions} evicted; random lookups ${median(lookups).toFixed(0)}/s (median of 3 rounds of 20,000, one process)\n${dir}`;
}

async function startFull(dir: string): Promise<string> {
  const cfg = { dir, maxBytes: 1e12, ttlMs: 86_400_000, cleanupIntervalMs: 86_400_000, maxValueBytes: 50 * 1024 * 1024 };
  const t = performance.now();
  const tier = new DiskTier(openDiskStore(cfg, log)!, cfg, log);
  const opened = performance.now() - t;
  const hit = await tier.get('F12345');
  const first = performance.now() - t;
  const n = tier.totals().entries;
  await tier.close();
  rmSync(dir, { recursive: true, force: true });
  return `(3) opening the full store (${n} entries): ${opened.toFixed(1)} ms; first hit ${hit ? 'served' : 'MISSED'} ${first.toFixed(1)} ms after the start`;
}

async function plainFiles(): Promise<string> {
  const { mkdirSync, readFileSync: read, renameSync, writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'sp-bench-files-'));
  const path = (i: number) => join(dir, String(i % 256).padStart(3, '0'), `U${i}`);
  for (let d = 0; d < 256; d++) mkdirSync(join(dir, String(d).padStart(3, '0')));
  let t = performance.now();
  for (let i = 0; i < entries; i++) {
    const p = path(i);
    writeFileSync(`${p}.tmp`, entry(i).plain!);
    renameSync(`${p}.tmp`, p);
  }
  const writes = entries / ((performance.now() - t) / 1000);
  const lookups: number[] = [];
  for (let round = 0; round < 3; round++) {
    t = performance.now();
    for (let k = 0; k < 20_000; k++) read(path(Math.floor(Math.random() * entries)));
    lookups.push(20_000 / ((performance.now() - t) / 1000));
  }
  rmSync(dir, { recursive: true, force: true });
  return `(4) plain files, same entries (256 directories, write + rename, no index, no eviction, no lock): ${writes.toFixed(0)} writes/s; random reads ${median(lookups).toFixed(0)}/s`;
}

async function main() {
  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  if (parts.has('2') || parts.has('3')) {
    const [line, dir] = (await storeSpeed()).split('\n');
    console.log(line);
    if (parts.has('3')) console.log(await startFull(dir));
  }
  if (parts.has('4')) console.log(await plainFiles());
  if (parts.has('1')) await throughService();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

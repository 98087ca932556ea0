import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { signedUrl } from '../src/url-signing.js';
import { FakeTelegram } from '../test/fake-telegram.js';
import { fixtures, median, medianRun, pct, stickerFiles, stop, treeRssKiB, waitFor, wrk, type WrkResult } from './lib.js';

/**
 * Load benchmark: the service (cluster, WORKERS=2) against an instant fake Telegram on loopback, next to a
 * bare node:http cluster serving the same bytes (the machine's ceiling), both driven by wrk.
 * Each scenario alternates service and bare runs BENCH_REPEATS times and reports medians (the machine is shared
 * and noisy, so single runs mislead). Env: BENCH_DURATION (wrk -d, default 10s), BENCH_CONNECTIONS
 * (default "64,1000"), BENCH_WORKERS (2), BENCH_REPEATS (3), BENCH_SIGN (1: signed URLs on and every path signed).
 */
const root = join(__dirname, '..', '..');
const duration = process.env.BENCH_DURATION ?? '10s';
const connectionSets = (process.env.BENCH_CONNECTIONS ?? '64,1000').split(',').map(Number);
const workers = Number(process.env.BENCH_WORKERS ?? 2);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const tgsFiles = stickerFiles();
const ids = tgsFiles.map((_, i) => `CAACAgIAAxkBAAEbench${i}`);
const signingKey = process.env.BENCH_SIGN ? 'bench-signing-key-0123456789abcdef' : undefined;
const sticker = (id: string) => (signingKey ? signedUrl(Buffer.from(signingKey), `/stickers/${id}`) : `/stickers/${id}`);

async function main() {
  const fake = await new FakeTelegram().start();
  tgsFiles.forEach((f, i) => fake.add(ids[i], { data: readFileSync(join(fixtures, f)) }));

  const port = 18081;
  const service = spawn(process.execPath, [join(root, 'dist', 'src', 'main.js')], {
    env: {
      ...process.env,
      WORKERS: String(workers),
      SERVER_PORT: String(port),
      SERVER_HOST: '127.0.0.1',
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_BASE_URL: fake.url,
      // BENCH_LOG_LEVEL=info measures the access log as a deployment writes it (to /dev/null here).
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? '',
      // BENCH_SIGN=1: signed URLs on, every path signed (the hit path with its HMAC check).
      ...(signingKey && { URL_SIGNING_KEY: signingKey }),
    },
    stdio: ['ignore', process.env.BENCH_LOG_LEVEL ? 'ignore' : 'inherit', 'inherit'],
  });
  // BENCH_SCRAPE=1: a Prometheus-like scraper polls /metrics every second for the whole run (in its own
  // process: wrk blocks this one).
  const scraper = process.env.BENCH_SCRAPE ? spawn('sh', ['-c', `while true; do curl -s -o /dev/null http://127.0.0.1:${port}/metrics; sleep 1; done`], { stdio: 'ignore' }) : undefined;
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/health`);
  const idleMem = treeRssKiB(service.pid!);

  // Cold misses: the first request of each sticker, one at a time, Telegram answering instantly.
  const cold: Record<string, number[]> = { gzip: [], identity: [] };
  const agent = new Agent({ connections: 4 });
  for (let round = 0; round < 100; round++) {
    for (const [kind, headers] of [
      ['gzip', { 'accept-encoding': 'gzip' }],
      ['identity', {}],
    ] as const) {
      const id = `CAACAgIAAxkBAAEcold${kind}${round}`;
      fake.add(id, { data: readFileSync(join(fixtures, tgsFiles[round % tgsFiles.length])) });
      const t0 = performance.now();
      const r = await request(`${base}${sticker(id)}`, { dispatcher: agent, headers });
      await r.body.dump();
      if (r.statusCode !== 200) throw new Error(`cold miss answered ${r.statusCode}`);
      cold[kind].push(performance.now() - t0);
    }
  }
  await agent.close();

  // Warm the memory tier of every worker (fresh connections land on each worker in turn).
  for (let i = 0; i < workers * 4; i++) {
    for (const id of ids) for (const h of [{ 'accept-encoding': 'gzip' }, {}]) {
      const r = await request(`${base}${sticker(id)}`, { headers: h, reset: true });
      await r.body.dump();
    }
  }

  const bare = spawn(process.execPath, [join(root, 'dist', 'bench', 'bare-server.js'), '18082', String(workers), ...tgsFiles.map((f) => join(fixtures, f))], {
    stdio: 'inherit',
  });
  await waitFor('http://127.0.0.1:18082/stickers/0');

  const rows: string[] = [];
  const spreads = (process.env.BENCH_SPREADS ?? '1,10').split(',').map(Number);
  const encodings = (process.env.BENCH_ENCODINGS ?? 'gzip,identity').split(',').map((e) => e === 'gzip');
  for (const connections of connectionSets) {
    for (const spread of spreads) {
      for (const gzip of encodings) {
        const paths = ids.slice(0, spread).map(sticker);
        const svcRuns: WrkResult[] = [];
        const ceilRuns: WrkResult[] = [];
        for (let r = 0; r < repeats; r++) {
          svcRuns.push(wrk(base, paths, connections, gzip, duration));
          ceilRuns.push(wrk('http://127.0.0.1:18082', paths, connections, gzip, duration));
        }
        const svc = medianRun(svcRuns);
        const ceil = medianRun(ceilRuns);
        const label = `${spread === 1 ? 'one sticker' : 'ten stickers'}, ${gzip ? 'gzip' : 'identity'}, ${connections} conns`;
        rows.push(
          `| ${label} | ${svc.rps.toFixed(0)} | ${svc.p50.toFixed(2)} | ${svc.p99.toFixed(2)} | ${svc.errors + svc.non2xx} | ${ceil.rps.toFixed(0)} | ${ceil.p99.toFixed(2)} | ${ceil.errors + ceil.non2xx} | ${(svc.rps / ceil.rps).toFixed(2)} |`,
        );
        console.error(rows.at(-1));
      }
    }
  }
  const mem = treeRssKiB(service.pid!);
  await stop(bare);
  scraper?.kill();
  await stop(service);
  await fake.close();

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Machine: ${cpus().length} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; wrk -t2 on the same cores; ${duration} per run; medians of ${repeats} alternating runs (errors summed); WORKERS=${workers}\n`);
  console.log('| scenario | service req/s | p50 ms | p99 ms | errors (all runs) | bare req/s | bare p99 ms | bare errors | service / bare |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('');
  console.log('| cold miss (100 each, sequential) | median ms | p90 ms | max ms |');
  console.log('|---|---|---|---|');
  for (const [k, xs] of Object.entries(cold)) console.log(`| TGS, ${k} | ${median(xs).toFixed(2)} | ${pct(xs, 90).toFixed(2)} | ${Math.max(...xs).toFixed(2)} |`);
  console.log('');
  const mib = (k: number) => (k / 1024).toFixed(0);
  console.log(`Service memory, primary + ${workers} workers + pool threads (NODE_OPTIONS="${process.env.BENCH_NODE_OPTIONS ?? ''}"):`);
  console.log(`idle: RSS ${mib(idleMem.rss)} MiB, PSS ${mib(idleMem.pss)} MiB; after the runs: RSS ${mib(mem.rss)} MiB, PSS ${mib(mem.pss)} MiB, peak RSS (sum of VmHWM) ${mib(mem.peak)} MiB`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

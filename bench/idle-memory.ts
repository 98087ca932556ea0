import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { FakeTelegram } from '../test/fake-telegram.js';
import { fixtures, median, stop, treeRssKiB, waitFor } from './lib.js';

/**
 * Memory of the idle service: primary and WORKERS=2 workers (pool threads included), summed RSS and PSS,
 * after a few requests on the serving path (health, a TGS as gzip and as JSON, a WebP passed through, each
 * twice on fresh connections so both workers answer). Also says whether a worker has libvips mapped, which
 * only conversions should bring in. BENCH_ROOT measures another checkout with this same procedure (the
 * previous commit, for a before/after); BENCH_REPEATS (default 3) runs, medians reported; BENCH_SETTLE_MS
 * (default 35000) between the last request and the measurement; BENCH_HEAP=1 prints each worker's V8 figures.
 */
const root = process.env.BENCH_ROOT ?? join(__dirname, '..', '..');
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
// Past POOL_IDLE_TIMEOUT_SEC (30 s), so the pool threads have exited, as they do in an idle service.
const settleMs = Number(process.env.BENCH_SETTLE_MS ?? 35_000);

async function once(fake: FakeTelegram, port: number) {
  const service = spawn(process.execPath, [join(root, 'dist', 'src', 'main.js')], {
    env: { ...process.env, WORKERS: '2', SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${base}/health`);
    for (let round = 0; round < 4; round++) {
      for (const [path, headers] of [
        ['/health', {}],
        ['/stickers/CAACAgIAAxkBAAEidletgs', { 'accept-encoding': 'gzip' }],
        ['/stickers/CAACAgIAAxkBAAEidletgs', {}],
        ['/stickers/CAACAgIAAxkBAAEidlewebp', {}],
      ] as const) {
        const r = await request(`${base}${path}`, { headers, reset: true });
        await r.body.dump();
        if (r.statusCode !== 200) throw new Error(`${path} answered ${r.statusCode}`);
      }
    }
    await new Promise((r) => setTimeout(r, settleMs));
    if (process.env.BENCH_HEAP) {
      const st = await request(`${base}/cache/stats`);
      const body = (await st.body.json()) as { processes: Array<{ pid: number; process: Record<string, number> }> };
      for (const p of body.processes) console.log(p.pid, JSON.stringify(p.process));
    }
    const mem = treeRssKiB(service.pid!);
    const children = readFileSync(`/proc/${service.pid}/task/${service.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const libvips = children.filter((pid) => readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libvips')).length;
    const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
    const primary = Number(/VmRSS:\s+(\d+)/.exec(status(service.pid!))?.[1]);
    // Each worker's RSS, and its OS threads (a live pool thread shows as one more than the idle count).
    const workers = children.map((pid) => `${(Number(/VmRSS:\s+(\d+)/.exec(status(pid))?.[1]) / 1024).toFixed(0)} (${/Threads:\s+(\d+)/.exec(status(pid))?.[1]})`).join(', ');
    return { ...mem, primary, libvips, workers };
  } finally {
    await stop(service);
  }
}

async function main() {
  const fake = await new FakeTelegram().start();
  fake.add('CAACAgIAAxkBAAEidletgs', { data: readFileSync(join(fixtures, 'sticker_01.tgs')) });
  fake.add('CAACAgIAAxkBAAEidlewebp', { data: readFileSync(join(fixtures, 'static_webp_800x600.webp')) });
  const runs = [];
  for (let i = 0; i < repeats; i++) runs.push(await once(fake, 18091 + i));
  await fake.close();
  const mib = (kib: number) => (kib / 1024).toFixed(0);
  console.log(`root: ${root}`);
  console.log('| run | sum of RSS MiB | sum of PSS MiB | primary RSS MiB | workers RSS MiB (OS threads) | workers with libvips mapped |');
  console.log('|---|---|---|---|---|---|');
  runs.forEach((r, i) => console.log(`| ${i + 1} | ${mib(r.rss)} | ${mib(r.pss)} | ${mib(r.primary)} | ${r.workers} | ${r.libvips} of 2 |`));
  console.log(`| median | ${mib(median(runs.map((r) => r.rss)))} | ${mib(median(runs.map((r) => r.pss)))} | ${mib(median(runs.map((r) => r.primary)))} | | |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

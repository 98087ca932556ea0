import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { FakeTelegram } from '../test/fake-telegram.js';

/**
 * Load benchmark: the service (cluster, WORKERS=2) against an instant fake Telegram on loopback, next to a
 * bare node:http cluster serving the same bytes (the machine's ceiling), both driven by wrk.
 * Each scenario alternates service and bare runs BENCH_REPEATS times and reports medians (the machine is shared
 * and noisy, so single runs mislead). Env: BENCH_DURATION (wrk -d, default 10s), BENCH_CONNECTIONS
 * (default "64,1000"), BENCH_WORKERS (2), BENCH_REPEATS (3).
 */
const root = join(__dirname, '..', '..');
const fixtures = join(root, 'test', 'fixtures');
const duration = process.env.BENCH_DURATION ?? '10s';
const connectionSets = (process.env.BENCH_CONNECTIONS ?? '64,1000').split(',').map(Number);
const workers = Number(process.env.BENCH_WORKERS ?? 2);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const tgsFiles = readdirSync(fixtures)
  .filter((f) => /^sticker_\d+\.tgs$/.test(f))
  .sort()
  .slice(0, 10);
const ids = tgsFiles.map((_, i) => `CAACAgIAAxkBAAEbench${i}`);
const tmp = mkdtempSync(join(tmpdir(), 'sp-bench-'));

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

function wrk(base: string, paths: string[], connections: number, gzip: boolean): WrkResult {
  const script = join(tmp, `s${Math.random().toString(36).slice(2)}.lua`);
  writeFileSync(
    script,
    `local paths = {${paths.map((p) => JSON.stringify(p)).join(',')}}
local i = 0
${gzip ? 'wrk.headers["Accept-Encoding"] = "gzip, deflate, br"' : ''}
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
`,
  );
  const out = execFileSync('wrk', ['-t', '2', '-c', String(connections), '-d', duration, '--timeout', '5s', '--latency', '-s', script, base], {
    encoding: 'utf8',
  });
  const ms = (re: RegExp) => {
    const m = re.exec(out);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: ms(/\s50%\s+([\d.]+)(us|ms|s)/),
    p99: ms(/\s99%\s+([\d.]+)(us|ms|s)/),
    errors: sock ? sock.slice(1).reduce((n, v) => n + Number(v), 0) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  };
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await request(url);
      await r.body.dump();
      if (r.statusCode === 200) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

/** Sums over the process tree: RSS (shared pages counted in every process), PSS (shared pages split), peak RSS. */
function treeRssKiB(pid: number): { rss: number; pss: number; peak: number } {
  const pids = [pid, ...execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number)];
  let rss = 0;
  let pss = 0;
  let peak = 0;
  for (const p of pids) {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peak += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    pss += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  }
  return { rss, pss, peak };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
/** Medians of each figure over repeated runs; errors are summed, so none hides. */
const medianRun = (runs: WrkResult[]): WrkResult => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  errors: runs.reduce((n, r) => n + r.errors, 0),
  non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
});
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

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
      LOG_LEVEL: 'warn',
      NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? '',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
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
      const r = await request(`${base}/stickers/${id}`, { dispatcher: agent, headers });
      await r.body.dump();
      if (r.statusCode !== 200) throw new Error(`cold miss answered ${r.statusCode}`);
      cold[kind].push(performance.now() - t0);
    }
  }
  await agent.close();

  // Warm the memory tier of every worker (fresh connections land on each worker in turn).
  for (let i = 0; i < workers * 4; i++) {
    for (const id of ids) for (const h of [{ 'accept-encoding': 'gzip' }, {}]) {
      const r = await request(`${base}/stickers/${id}`, { headers: h, reset: true });
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
        const paths = ids.slice(0, spread).map((id) => `/stickers/${id}`);
        const svcRuns: WrkResult[] = [];
        const ceilRuns: WrkResult[] = [];
        for (let r = 0; r < repeats; r++) {
          svcRuns.push(wrk(base, paths, connections, gzip));
          ceilRuns.push(wrk('http://127.0.0.1:18082', paths, connections, gzip));
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

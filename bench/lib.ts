import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { TestApp } from '../test/helper.js';

/** Shared pieces of the benchmarks: wrk runs, waiting for a server, memory of a process tree, medians. */
export const fixtures = join(__dirname, '..', '..', 'test', 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'sp-bench-'));

/**
 * rlottie's single-thread times for the corpus files on this kind of machine (from the corpus README), by
 * name without extension: ms per frame at 512 and 256 px, and ms to render every frame at 512 px.
 */
export function rlottieSpeed(): Map<string, { ms512: number; ms256: number; whole512: number }> {
  return new Map(
    readFileSync(join(fixtures, 'reference', 'rlottie-speed.tsv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'))
      .map(([file, , ms512, ms256, whole]) => [file.replace(/\.(tgs|json)$/, ''), { ms512: Number(ms512), ms256: Number(ms256), whole512: Number(whole) }]),
  );
}

/** The corpus stickers copied into test/fixtures (sticker_01..10.tgs). */
export function stickerFiles(): string[] {
  return readdirSync(fixtures)
    .filter((f) => /^sticker_\d+\.tgs$/.test(f))
    .sort()
    .slice(0, 10);
}

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export function wrk(base: string, paths: string[], connections: number, gzip: boolean, duration: string): WrkResult {
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
  return parseWrk(out);
}

/** The figures of wrk --latency output (latencies in ms). */
export function parseWrk(out: string): WrkResult {
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

export async function waitFor(url: string): Promise<void> {
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

/** Sums over the process tree: RSS (shared pages counted in every process), PSS (shared pages split), peak RSS, and the anonymous part of RSS (heaps, buffers: not file pages). */
export function treeRssKiB(pid: number): { rss: number; pss: number; peak: number; anon: number } {
  const pids = [pid, ...execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number)];
  let rss = 0;
  let pss = 0;
  let peak = 0;
  let anon = 0;
  for (const p of pids) {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    anon += Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peak += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    pss += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  }
  return { rss, pss, peak, anon };
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
/** Medians of each figure over repeated runs; errors are summed, so none hides. */
export const medianRun = (runs: WrkResult[]): WrkResult => ({
  rps: median(runs.map((r) => r.rps)),
  p50: median(runs.map((r) => r.p50)),
  p99: median(runs.map((r) => r.p99)),
  errors: runs.reduce((n, r) => n + r.errors, 0),
  non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
});
export const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

let missCount = 0;

/** One request for data under a file id never seen before, so the service fetches and converts: its time and response. */
export async function timedMiss(t: TestApp, data: Buffer, query: string): Promise<{ ms: number; headers: Record<string, unknown>; bytes: number }> {
  const id = `BENCHmiss${++missCount}xxxxxxxx`;
  t.fake.add(id, { data });
  const t0 = performance.now();
  const res = await t.app.inject({ url: `/stickers/${id}?${query}` });
  const ms = performance.now() - t0;
  if (res.statusCode !== 200) throw new Error(`${query}: ${res.statusCode} ${res.payload.slice(0, 200)}`);
  return { ms, headers: res.headers, bytes: res.rawPayload.length };
}

export interface BenchConfig {
  name: string;
  env: Record<string, string>;
}
export interface BenchScenario {
  label: string;
  paths: string[];
  connections: number;
}

/**
 * Runs the built service (WORKERS=2) once per configuration, repeats times in rotation, and wrk over every
 * scenario against each; warm() fills the caches first. Returns the runs by `${config}|${scenario}`.
 */
export async function rotateConfigs(opts: {
  configs: BenchConfig[];
  scenarios: BenchScenario[];
  repeats: number;
  duration: string;
  env: Record<string, string>;
  warm: (base: string) => Promise<void>;
}): Promise<Map<string, WrkResult[]>> {
  const root = join(__dirname, '..', '..');
  const results = new Map<string, WrkResult[]>();
  const port = 18181;
  for (let r = 0; r < opts.repeats; r++) {
    for (const cfg of opts.configs) {
      const service = spawn(process.execPath, [join(root, 'dist', 'src', 'main.js')], {
        env: { ...process.env, ...opts.env, ...cfg.env, WORKERS: '2', SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(`${base}/health`);
      await opts.warm(base);
      for (const s of opts.scenarios) {
        const key = `${cfg.name}|${s.label}`;
        const runs = results.get(key) ?? [];
        runs.push(wrk(base, s.paths, s.connections, true, opts.duration));
        results.set(key, runs);
        console.error(key, runs.at(-1));
      }
      await stop(service);
    }
  }
  return results;
}

/** The markdown table of rotateConfigs' medians, each next to the first configuration's. */
export function printComparison(configs: BenchConfig[], scenarios: BenchScenario[], results: Map<string, WrkResult[]>, vs: string): void {
  console.log(`| scenario | configuration | req/s | p50 ms | p99 ms | errors (all runs) | vs ${vs} |`);
  console.log('|---|---|---|---|---|---|---|');
  for (const s of scenarios) {
    const ref = medianRun(results.get(`${configs[0].name}|${s.label}`)!);
    for (const cfg of configs) {
      const m = medianRun(results.get(`${cfg.name}|${s.label}`)!);
      console.log(`| ${s.label} | ${cfg.name} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${m.errors + m.non2xx} | ${(m.rps / ref.rps).toFixed(2)} |`);
    }
  }
}

/** PSNR (dB) of a frame against a reference frame, composited on white and on black. */
export function compositePsnr(ours: Uint8Array, theirs: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < theirs.length; i += 4) {
    const a1 = ours[i + 3] / 255;
    const a2 = theirs[i + 3] / 255;
    for (let c = 0; c < 3; c++) {
      for (const bg of [255, 0]) {
        const x = ours[i + c] * a1 + bg * (1 - a1);
        const y = theirs[i + c] * a2 + bg * (1 - a2);
        se += (x - y) ** 2;
      }
    }
  }
  const mse = se / ((theirs.length / 4) * 6);
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}


import { execFileSync, type ChildProcess } from 'node:child_process';
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

/** Sums over the process tree: RSS (shared pages counted in every process), PSS (shared pages split), peak RSS. */
export function treeRssKiB(pid: number): { rss: number; pss: number; peak: number } {
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

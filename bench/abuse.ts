import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { fixtures, median, parseWrk, stop, treeRssKiB, waitFor } from './lib.js';

/**
 * What hostile uploads cost the service, and what the upload guards cost honest ones. Runs the built
 * service of the working directory (dist/) with WORKERS=1 on a free port, no Telegram needed:
 *  1. honest uploads: wrk POSTs a TGS to /convert?format=png&size=128 (conversions/s);
 *  2. a 10 MB nested-array JSON body: /health latency while it is in flight, and the worker's peak RSS;
 *  3. 150 sockets each announcing 10 MiB and sending all but one byte: RSS while held and 20 s after;
 *  4. a body trickled a byte every 2 s: how long the socket stays open.
 * Env: BENCH_DURATION (10s), BENCH_CONNECTIONS (4), BENCH_SKIP (comma list of 1-4), BENCH_UPLOAD_QUERY (format=png&size=128).
 */
const root = join(__dirname, '..', '..');
const duration = process.env.BENCH_DURATION ?? '10s';
const connections = Number(process.env.BENCH_CONNECTIONS ?? 4);
const uploadQuery = process.env.BENCH_UPLOAD_QUERY ?? 'format=png&size=128';
const skip = new Set((process.env.BENCH_SKIP ?? '').split(','));
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function healthMs(base: string): Promise<number> {
  const t = performance.now();
  const r = await request(`${base}/health`);
  await r.body.dump();
  return performance.now() - t;
}

function holdUpload(port: number, announced: number, send: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(`POST /convert HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${announced}\r\n\r\n`);
      s.write(Buffer.alloc(send, 1), () => resolve(s));
    });
    s.on('error', () => {});
  });
}

async function main() {
  const port = 18391;
  const service = spawn(process.execPath, [join(root, 'dist', 'src', 'main.js')], {
    env: { ...process.env, WORKERS: '1', SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', LOG_LEVEL: 'warn', TELEGRAM_BOT_TOKEN: '' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/health`);
  const worker = () => treeRssKiB(service.pid!);
  console.log(`Machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; service WORKERS=1; build ${root}`);
  console.log(`idle: service RSS ${(worker().rss / 1024).toFixed(0)} MiB`);

  if (!skip.has('1')) {
    const script = join(mkdtempSync(join(tmpdir(), 'sp-up-')), 'up.lua');
    writeFileSync(script, `local f = io.open(${JSON.stringify(join(fixtures, 'sticker_05.tgs'))}, "rb")\nwrk.method = "POST"\nwrk.body = f:read("*all")\nwrk.headers["Content-Type"] = "application/octet-stream"\n`);
    const { stdout } = await promisify(execFile)('wrk', ['-t', '1', '-c', String(connections), '-d', duration, '--latency', '-s', script, `${base}/convert?${uploadQuery}`], { encoding: 'utf8' });
    const r = parseWrk(stdout);
    console.log(`1. honest uploads (TGS, /convert?${uploadQuery}, ${connections} connections, ${duration}): ${r.rps.toFixed(1)} requests/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, non-2xx ${r.non2xx}`);
  }

  if (!skip.has('2')) {
    const depth = 5 * MiB;
    const body = Buffer.concat([Buffer.alloc(depth, '['), Buffer.alloc(depth, ']')]);
    const t0 = performance.now();
    const post = request(`${base}/convert`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).then(async (r) => {
      await r.body.dump();
      return { status: r.statusCode, ms: performance.now() - t0 };
    });
    const health: number[] = [];
    let done = false;
    void post.then(() => (done = true));
    let peak = 0;
    while (!done) {
      health.push(await healthMs(base));
      peak = Math.max(peak, worker().rss);
      await sleep(50);
    }
    const res = await post;
    console.log(`2. 10 MB nested-array JSON: answered ${res.status} after ${res.ms.toFixed(0)} ms; /health during it: ${health.length} probes, median ${median(health).toFixed(1)} ms, max ${Math.max(...health).toFixed(1)} ms; service RSS peak ${(peak / 1024).toFixed(0)} MiB`);
  }

  if (!skip.has('3')) {
    const before = worker().rss;
    const sockets: Socket[] = [];
    for (let i = 0; i < 150; i++) sockets.push(await holdUpload(port, 10 * MiB, 10 * MiB - 1));
    await sleep(1000);
    const held = worker().rss;
    const answered = sockets.filter((s) => s.destroyed || s.readableEnded).length;
    for (const s of sockets) s.destroy();
    await sleep(20_000);
    console.log(`3. 150 uploads of 10 MiB held one byte short: service RSS ${(before / 1024).toFixed(0)} -> ${(held / 1024).toFixed(0)} MiB while held (${answered} already answered and closed), ${(worker().rss / 1024).toFixed(0)} MiB 20 s after they closed`);
  }

  if (!skip.has('4')) {
    const s = await holdUpload(port, 1000, 1);
    const t0 = performance.now();
    const trickle = setInterval(() => s.writable && s.write(Buffer.alloc(1, 1)), 2000);
    await Promise.race([new Promise((r) => s.once('close', r)), sleep(120_000)]);
    clearInterval(trickle);
    console.log(`4. a body trickled a byte every 2 s: ${s.destroyed ? `closed after ${((performance.now() - t0) / 1000).toFixed(1)} s` : 'still open after 120 s'}`);
    s.destroy();
  }
  await stop(service);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

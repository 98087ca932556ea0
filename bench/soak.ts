import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { FakeTelegram } from '../test/fake-telegram.js';
import { RedisServer } from '../test/redis-server.js';
import { fixtures, parseWrk, stickerFiles, stop, treeRssKiB, waitFor, type WrkResult } from './lib.js';

/**
 * Soak: the service (WORKERS=2, Redis, disk tier) under wrk at SOAK_CONNECTIONS (1000) for SOAK_MINUTES (10),
 * run as one-minute wrk segments so each minute has its own figures. The mix (SOAK_MIX="hits,fresh,convert"
 * in percent, default 97,2,1): cache hits over ten stickers; stickers nobody asked for before (getFile,
 * download, decode); and conversions to PNG at a random size (a new variant each time, in the pool). At 40 %
 * of the run one worker is SIGKILLed (the primary starts another); at 70 % Redis is killed and started again
 * (empty). Reports per minute: requests, answers by status, socket errors by kind, p50/p99, RSS of the
 * whole process tree; and Telegram calls.
 */
const minutes = Number(process.env.SOAK_MINUTES ?? 10);
const segmentSec = Number(process.env.SOAK_SEGMENT_SEC ?? 60);
const connections = Number(process.env.SOAK_CONNECTIONS ?? 1000);
const [hitPct, freshPct] = (process.env.SOAK_MIX ?? '97,2,1').split(',').map(Number);
const port = 18381;
const base = `http://127.0.0.1:${port}`;
const PREFIX = 'CAACAgIAAxkBAAEsoak';

interface Segment {
  minute: number;
  wrk: WrkResult;
  requests: number;
  statuses: Record<string, number>;
  socket: { connect: number; read: number; write: number; timeout: number };
  rssMiB: number;
  /** Private memory (heaps, buffers): a leak shows here. The rest of RSS is file pages (LMDB's map, code). */
  anonMiB: number;
  /** V8 heap in use and memory outside it held by JS objects (Buffers), summed over the workers (their /metrics). */
  heapMiB: number;
  externalMiB: number;
  events: string[];
}

/** The wrk script of one segment: its own fresh ids (segment and thread in the id), answers counted by status. */
function script(segment: number, hits: string[]): string {
  return `
local hits = {${hits.map((h) => JSON.stringify(h)).join(',')}}
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
function init(args)
  n = 0
  statuses = {}
  math.randomseed(${segment} * 1000 + tid)
end
request = function()
  n = n + 1
  local r = math.random(100)
  local sticker = hits[math.random(#hits)]
  if r <= ${hitPct} then
    return wrk.format("GET", sticker)
  elseif r <= ${hitPct + freshPct} then
    return wrk.format("GET", "/stickers/${PREFIX}fresh${segment}t" .. tid .. "n" .. n)
  else
    return wrk.format("GET", sticker .. "?format=png&size=" .. math.random(16, 512))
  end
end
response = function(status)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, '"' .. k .. '":' .. v) end
  io.write("STATUSES {" .. table.concat(parts, ",") .. "}\\n")
end
`;
}

function runWrk(segment: number, hits: string[], dir: string): Promise<string> {
  const file = join(dir, `soak${segment}.lua`);
  writeFileSync(file, script(segment, hits));
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t', '2', '-c', String(connections), '-d', `${segmentSec}s`, '--timeout', '10s', '--latency', '-s', file, base], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}`))));
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'sp-soak-'));
  const files = stickerFiles().map((f) => readFileSync(join(fixtures, f)));
  const fake = await new FakeTelegram().start();
  const hits = files.map((data, i) => {
    fake.add(`${PREFIX}hit${i}`, { data });
    return `/stickers/${PREFIX}hit${i}`;
  });
  const freshIds = new Set<string>();
  fake.fallback = (id) => (id.startsWith(`${PREFIX}fresh`) ? (freshIds.add(id), { data: files[id.length % files.length] }) : undefined);
  const redis = await RedisServer.start();
  const service = spawn(process.execPath, [join(__dirname, '..', 'src', 'main.js')], {
    env: {
      ...process.env,
      WORKERS: '2',
      SERVER_PORT: String(port),
      SERVER_HOST: '127.0.0.1',
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_BASE_URL: fake.url,
      REDIS_URL: redis.url,
      DISK_CACHE_DIR: join(dir, 'disk'),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(`${base}/health`);
  for (const h of hits) for (let i = 0; i < 4; i++) await (await request(`${base}${h}`, { reset: true })).body.dump();

  const killAt = Math.floor(minutes * 0.4);
  const redisAt = Math.floor(minutes * 0.7);
  const segments: Segment[] = [];
  for (let m = 0; m < minutes; m++) {
    const events: string[] = [];
    const running = runWrk(m, hits, dir);
    // Mid-segment, so the minute shows the blow and the recovery.
    const half = new Promise((r) => setTimeout(r, (segmentSec * 1000) / 2));
    if (m === killAt) {
      await half;
      const workers = execFileSync('pgrep', ['-P', String(service.pid)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
      process.kill(workers[0], 'SIGKILL');
      events.push(`worker ${workers[0]} SIGKILLed`);
    }
    if (m === redisAt) {
      await half;
      await redis.stop();
      await redis.start();
      events.push('Redis killed and restarted (empty)');
    }
    const out = await running;
    const statuses = JSON.parse(/STATUSES (\{.*\})/.exec(out)?.[1] ?? '{}') as Record<string, number>;
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
    const mem = treeRssKiB(service.pid!);
    const seg: Segment = {
      minute: m + 1,
      wrk: parseWrk(out),
      requests,
      statuses,
      socket: { connect: Number(sock?.[1] ?? 0), read: Number(sock?.[2] ?? 0), write: Number(sock?.[3] ?? 0), timeout: Number(sock?.[4] ?? 0) },
      rssMiB: Math.round(mem.rss / 1024),
      anonMiB: Math.round(mem.anon / 1024),
      ...(await workerMemory()),
      events,
    };
    segments.push(seg);
    console.error(JSON.stringify(seg));
  }
  const diskMiB = Math.round(Number(execFileSync('du', ['-sk', join(dir, 'disk')], { encoding: 'utf8' }).split('\t')[0]) / 1024);
  const health = await request(`${base}/health/ready`);
  const ready = (await health.body.json()) as { status: string };
  await stop(service);
  await redis.stop();
  await fake.close();

  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; service WORKERS=2 with Redis and the disk tier; wrk -t2 -c${connections} on the same cores in ${segmentSec} s segments; mix ${process.env.SOAK_MIX ?? '97,2,1'} (hits, new stickers, conversions, %)\n`);
  console.log('| minute | requests | req/s | p50 ms | p99 ms | 200 | other statuses | socket errors (connect/read/write/timeout) | RSS MiB | of it anonymous | JS heap MiB | external MiB | event |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of segments) {
    const other = Object.entries(s.statuses).filter(([k]) => k !== '200').map(([k, v]) => `${k}: ${v}`).join(', ') || '0';
    const sock = s.socket;
    console.log(`| ${s.minute} | ${s.requests} | ${s.wrk.rps.toFixed(0)} | ${s.wrk.p50.toFixed(1)} | ${s.wrk.p99.toFixed(1)} | ${s.statuses['200'] ?? 0} | ${other} | ${sock.connect}/${sock.read}/${sock.write}/${sock.timeout} | ${s.rssMiB} | ${s.anonMiB} | ${s.heapMiB} | ${s.externalMiB} | ${s.events.join('; ')} |`);
  }
  const total = segments.reduce((n, s) => n + s.requests, 0);
  const second = segments[Math.min(1, segments.length - 1)];
  const firstRss = second.rssMiB;
  const lastRss = segments.at(-1)!.rssMiB;
  const anonDrift = segments.at(-1)!.anonMiB - second.anonMiB;
  console.log(`\nRequests: ${total}. Telegram: ${fake.calls.getFile} getFile and ${fake.calls.download} downloads for ${freshIds.size + hits.length} distinct stickers (${freshIds.size} new during the run), ${fake.getMeCalls} getMe. RSS minute 2 → last: ${firstRss} → ${lastRss} MiB (${lastRss - firstRss >= 0 ? '+' : ''}${lastRss - firstRss}), anonymous ${anonDrift >= 0 ? '+' : ''}${anonDrift} MiB; disk store ${diskMiB} MiB. Readiness at the end: ${ready.status}.`);
}

/** Heap used and external memory of every worker, from the host's /metrics (MiB). */
async function workerMemory(): Promise<{ heapMiB: number; externalMiB: number }> {
  const text = await (await request(`${base}/metrics`)).body.text();
  const sum = (name: string) => [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} ([\\d.e+]+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  return { heapMiB: Math.round(sum('nodejs_heap_size_used_bytes') / 2 ** 20), externalMiB: Math.round(sum('nodejs_external_memory_bytes') / 2 ** 20) };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

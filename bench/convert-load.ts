import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { FakeTelegram } from '../test/fake-telegram.js';
import { fixtures, parseWrk, stickerFiles, stop, treeRssKiB, waitFor } from './lib.js';

/**
 * Conversions per second with both cluster workers converting: wrk asks for PNG frames of the ten corpus
 * stickers, a different (sticker, frame) pair each time, so nearly every request is a render + encode
 * (the memory cache is off). Reports conversions/s, latency, and the peak RSS/PSS of the whole service.
 * Env: BENCH_DURATION (default 15s), BENCH_SIZE (256), BENCH_CONNECTIONS (8), BENCH_FORMAT (png; or webp, gif, apng),
 * BENCH_WORKERS (2; the pool gets cores / workers threads each, as in the service).
 */
const root = join(__dirname, '..', '..');
const duration = process.env.BENCH_DURATION ?? '15s';
const size = Number(process.env.BENCH_SIZE ?? 256);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
// png: one frame, a different (sticker, frame) each time; webp, gif, apng: the whole animation, a different
// (sticker, quality) each time, so no two requests in flight share a conversion.
const format = process.env.BENCH_FORMAT ?? 'png';
const workers = Number(process.env.BENCH_WORKERS ?? 2);

async function main() {
  const fake = await new FakeTelegram().start();
  const files = stickerFiles();
  const ids = files.map((_, i) => `CAACAgIAAxkBAAEconv${i}`);
  files.forEach((f, i) => fake.add(ids[i], { data: readFileSync(join(fixtures, f)) }));
  const port = 18281;
  const service = spawn(process.execPath, [join(root, 'dist', 'src', 'main.js')], {
    env: { ...process.env, WORKERS: String(workers), SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url, LOG_LEVEL: 'warn', MEMORY_CACHE_MB: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/health`);
  // Warm: every worker's thread loads the renderer and libvips once.
  for (let i = 0; i < 6; i++) await fetch(`${base}/stickers/${ids[i % ids.length]}?format=png&size=${size}&frame=0`).then((r) => r.arrayBuffer());

  const script = join(mkdtempSync(join(tmpdir(), 'sp-conv-')), 'conv.lua');
  writeFileSync(
    script,
    `local ids = {${ids.map((id) => JSON.stringify(id)).join(',')}}
local n = 0
request = function()
  n = n + 1
  local id = ids[(n % #ids) + 1]
  return wrk.format("GET", "/stickers/" .. id .. ${format === 'png' ? '"?format=png&size=' + size + '&frame=" .. ((n * 7) % 30)' : '"?format=' + format + '&size=' + size + '&quality=" .. (50 + (n % 50))'})
end
`,
  );
  // Asynchronously: the fake Telegram lives in this process and must keep answering while wrk runs.
  const { stdout: out } = await promisify(execFile)('wrk', ['-t', '1', '-c', String(connections), '-d', duration, '--timeout', '30s', '--latency', '-s', script, base], { encoding: 'utf8' });
  if (process.env.BENCH_DEBUG) console.error(out);
  const mem = treeRssKiB(service.pid!);
  await stop(service);
  await fake.close();
  const r = parseWrk(out);
  console.log(`Machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; WORKERS=${workers}, ${Math.max(1, Math.round(cpus().length / workers))} pool thread(s) each; wrk -t1 -c${connections} -d${duration}`);
  console.log(format === 'png' ? `PNG of one frame at ${size} px, distinct (sticker, frame) pairs, memory cache off:` : `${format} of the whole sticker at ${size} px, distinct (sticker, quality) pairs, memory cache off:`);
  console.log(`conversions/s ${r.rps.toFixed(1)}, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, errors ${r.errors}, non-2xx ${r.non2xx}`);
  console.log(`service memory after the run: RSS ${(mem.rss / 1024).toFixed(0)} MiB, PSS ${(mem.pss / 1024).toFixed(0)} MiB, peak RSS (sum of VmHWM) ${(mem.peak / 1024).toFixed(0)} MiB`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

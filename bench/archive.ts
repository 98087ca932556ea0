import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { buildTestApp, fid } from '../test/helper.js';

/**
 * A 120-sticker set (then its grid) (the corpus's TGS stickers, each under 12 file ids) as a WebP archive at 256 px, cold
 * (every sticker fetched from the fake Telegram and converted) and warm (every variant cached), at
 * ARCHIVE_CONCURRENCY 1 and 2, with both cores' threads in the pool. Env: BENCH_CORPUS.
 */
async function main() {
  const corpus = process.env.BENCH_CORPUS ?? join(__dirname, '..', '..', '..', 'shared', 'corpus');
  const tgs = readdirSync(join(corpus, 'tgs')).filter((f) => /^sticker_\d+\.tgs$/.test(f)).sort().map((f) => readFileSync(join(corpus, 'tgs', f)));
  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`);
  console.log('| ARCHIVE_CONCURRENCY | run | seconds | bytes | delivered | failed |\n|---|---|---|---|---|---|');
  const grids: string[] = [];
  for (const concurrency of [1, 2]) {
    const t = await buildTestApp({ ARCHIVE_CONCURRENCY: String(concurrency), MAX_PROCESS_WORKERS: String(cpus().length), ENDPOINT_TIMEOUT_SEC: '120', CONVERSION_TIMEOUT_SEC: '120', ARCHIVE_TIMEOUT_SEC: '3600', MEMORY_CACHE_MB: '1024' });
    try {
      const stickers = Array.from({ length: 120 }, (_, i) => {
        const id = fid(`bench${concurrency}_${i}`);
        t.fake.add(id, { data: tgs[i % tgs.length] });
        return { file_id: id, file_unique_id: `b${concurrency}_${i}`, width: 512, height: 512, is_animated: true, is_video: false, emoji: '😀' };
      });
      t.fake.sets.set('Bench', { name: 'Bench', title: 'Bench', sticker_type: 'regular', stickers });
      for (const run of ['cold', 'warm']) {
        const started = performance.now();
        const res = await t.app.inject({ url: '/sticker-sets/Bench/archive?format=webp&size=256' });
        const seconds = (performance.now() - started) / 1000;
        const file = join(mkdtempSync(join(tmpdir(), 'sp-archive-')), 'a.zip');
        writeFileSync(file, res.rawPayload);
        const m = JSON.parse(execFileSync('unzip', ['-p', file, 'manifest.json'], { encoding: 'utf8' })) as { delivered: unknown[]; failed: unknown[] };
        console.log(`| ${concurrency} | ${run} | ${seconds.toFixed(1)} | ${res.rawPayload.length} | ${m.delivered.length} | ${m.failed.length} |`);
      }
      // The set's grid: first frames as 128 px PNG tiles, composed as WebP: tiles made, then tiles cached
      // (another layout of the same tiles), then the grid itself kept.
      for (const [run, query] of [['tiles made', 'tile=128'], ['tiles cached', 'tile=128&columns=12'], ['grid kept', 'tile=128&columns=12']]) {
        const started = performance.now();
        const res = await t.app.inject({ url: `/sticker-sets/Bench/grid?${query}` });
        grids.push(`| ${concurrency} | ${run} | ${((performance.now() - started) / 1000).toFixed(3)} | ${res.statusCode} ${res.headers['x-cache-status']} | ${res.headers['x-output-width']}x${res.headers['x-output-height']} | ${res.rawPayload.length} |`);
      }
    } finally {
      await t.close();
    }
  }
  console.log(`\nThe set's grid (GET /sticker-sets/Bench/grid?tile=128):\n\n| ARCHIVE_CONCURRENCY | run | seconds | status | size | bytes |\n|---|---|---|---|---|---|\n${grids.join('\n')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

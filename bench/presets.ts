import { readdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { buildTestApp } from '../test/helper.js';
import { PRESETS, PRESET_NAMES } from '../src/model/presets.js';

/**
 * Every preset over every corpus sticker and video (../shared/corpus, or BENCH_CORPUS): through POST
 * /convert, the status, bytes, what was traded and the time. Each 200 is within its limits (the service
 * checks before sending; test/presets.test.ts checks a sample again with ffprobe and libvips). Env:
 * BENCH_FILES, BENCH_PRESETS (comma-separated, to run a part).
 */
async function main() {
  const corpus = process.env.BENCH_CORPUS ?? join(__dirname, '..', '..', '..', 'shared', 'corpus');
  const only = process.env.BENCH_FILES?.split(',');
  const files = [
    ...readdirSync(join(corpus, 'tgs')).filter((f) => f.endsWith('.tgs')).sort().map((f) => join(corpus, 'tgs', f)),
    ...readdirSync(join(corpus, 'media')).filter((f) => /\.(webm|webp|gif)$/.test(f)).sort().map((f) => join(corpus, 'media', f)),
  ].filter((f) => !only || only.some((o) => f.endsWith(`/${o}`)));
  const names = process.env.BENCH_PRESETS ? (process.env.BENCH_PRESETS.split(',') as typeof PRESET_NAMES) : PRESET_NAMES;
  const t = await buildTestApp({ ENDPOINT_TIMEOUT_SEC: '300', CONVERSION_TIMEOUT_SEC: '300' });
  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`);
  console.log(`| file | ${names.join(' | ')} |`);
  console.log(`|---|${names.map(() => '---').join('|')}|`);
  let fits = 0;
  let unfit = 0;
  try {
    for (const file of files) {
      const cells: string[] = [];
      for (const name of names) {
        const started = performance.now();
        const res = await t.app.inject({ method: 'POST', url: `/convert?preset=${name}`, payload: readFileSync(file), headers: { 'content-type': 'application/octet-stream' } });
        const s = ((performance.now() - started) / 1000).toFixed(1);
        if (res.statusCode === 200) {
          fits++;
          const h = res.headers;
          const traded = [h['x-preset-quality'] && `q${h['x-preset-quality']}`, h['x-preset-fps'] && `${h['x-preset-fps']} fps`, `${h['x-preset-size']} px`].filter(Boolean).join(', ');
          cells.push(`${h['x-output-format']} ${(res.rawPayload.length / 1000).toFixed(0)} KB, ${h['x-preset-fit']} (${traded}), ${s} s`);
        } else {
          unfit++;
          const limit = /the limit is (\d+) (bytes|ms), (\d+)/.exec(res.json().message);
          cells.push(`${res.statusCode} ${res.json().code}${limit ? `: ${limit[3]} ${limit[2]} over ${limit[1]}` : ''}, ${s} s`);
        }
      }
      console.log(`| ${file.split('/').pop()} | ${cells.join(' | ')} |`);
    }
  } finally {
    await t.close();
  }
  console.log(`\n${fits} results within their preset, ${unfit} refused (PRESET_UNFIT), of ${files.length * names.length}; presets: ${JSON.stringify(PRESETS)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

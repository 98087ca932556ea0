import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { availableRenderers, buildTestApp, type TestApp } from '../test/helper.js';
import { fixtures, median, rlottieSpeed, stickerFiles, timedMiss } from './lib.js';

/**
 * Every output format at 512 and 256 px for the ten corpus stickers, through the service: an instant fake
 * Telegram, a miss every time (a fresh file id), render, encode, cache; one pool thread, as each of two
 * cluster workers has on two cores. Per sticker and per frame, next to rlottie's time to render the frames
 * alone (test/fixtures/reference/rlottie-speed.tsv), for each renderer that can run here.
 */
const rlottie = rlottieSpeed();

const FORMATS = (process.env.BENCH_FORMATS ?? 'webp,gif,apng,png').split(',');
const SIZES = [512, 256];
// The WebP target is a ratio to rlottie's render time; the column appears when WebP is measured.
const RATIO = FORMATS.includes('webp');
const ratioCell = (x: string) => (RATIO ? ` ${x} |` : '');

async function time(t: TestApp, sticker: Buffer, query: string): Promise<{ ms: number; frames: number }> {
  const { ms, headers } = await timedMiss(t, sticker, query);
  return { ms, frames: Number(headers['x-output-frames'] ?? 1) };
}

async function main() {
  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), Node ${process.version}; one pool thread; one miss per cell\n`);
  const files = stickerFiles().filter((f) => f.startsWith('sticker_'));
  for (const renderer of availableRenderers()) {
    const t = await buildTestApp({ RENDERER: renderer, MEMORY_CACHE_MB: '0', CONVERSION_TIMEOUT_SEC: '120', ENDPOINT_TIMEOUT_SEC: '120', LOG_LEVEL: 'warn' });
    try {
      await time(t, readFileSync(join(fixtures, files[0])), 'format=png&size=64'); // load wasm/libvips in the thread
      const cols = FORMATS.flatMap((f) => SIZES.map((s) => `${f} ${s}`));
      console.log(`### RENDERER=${renderer}\n`);
      console.log(`| sticker | frames | rlottie render 512 ms | ${cols.map((c) => `${c} ms (ms/frame)`).join(' | ')} |${ratioCell('webp 512 ÷ rlottie')}`);
      console.log(`|${'---|'.repeat(cols.length + (RATIO ? 4 : 3))}`);
      const perCol = new Map<string, number[]>(cols.map((c) => [c, []]));
      const perFrameCol = new Map<string, number[]>(cols.map((c) => [c, []]));
      const ratios: number[] = [];
      for (const f of files) {
        const name = f.replace(/\.tgs$/, '');
        const data = readFileSync(join(fixtures, f));
        const cells: string[] = [];
        let webp512 = NaN;
        let frames = 0;
        for (const format of FORMATS) {
          for (const size of SIZES) {
            const r = await time(t, data, `format=${format}&size=${size}`);
            if (format !== 'png') frames = Math.max(frames, r.frames);
            if (format === 'webp' && size === 512) webp512 = r.ms;
            perCol.get(`${format} ${size}`)!.push(r.ms);
            perFrameCol.get(`${format} ${size}`)!.push(r.ms / r.frames);
            cells.push(`${r.ms.toFixed(0)} (${(r.ms / r.frames).toFixed(2)})`);
          }
        }
        const rl = rlottie.get(name)?.whole512 ?? NaN;
        ratios.push(webp512 / rl);
        console.log(`| ${name} | ${frames} | ${rl.toFixed(0)} | ${cells.join(' | ')} |${ratioCell((webp512 / rl).toFixed(2))}`);
      }
      console.log(`| median | | | ${cols.map((c) => `${median(perCol.get(c)!).toFixed(0)} (${median(perFrameCol.get(c)!).toFixed(2)})`).join(' | ')} |${ratioCell(median(ratios).toFixed(2))}\n`);
    } finally {
      await t.close();
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

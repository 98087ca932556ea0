import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { encodeAnimatedWebp } from '../src/convert/workers/webp.js';
import { compositePsnr } from './lib.js';

/**
 * What our per-rectangle animated WebP leaves on the table: the same rlottie frames (512 px, quality 75)
 * through our encoder at libwebp methods 2 (ours), 3, 4 and 6, and through libwebp's own animation encoder
 * (WebPAnimEncoder, by sharp from a tall image), which also chooses blending, disposal and lossy/lossless
 * per frame (`mixed`); and ours at lower qualities, to compare bytes at equal PSNR. Time, bytes, and the PSNR of 12 decoded frames against their source frames. One
 * run; needs rlottie-ref as bench/peers.ts. Env: BENCH_STICKERS (default sticker_07,sticker_02).
 */
const shared = process.env.BENCH_SHARED ?? join(__dirname, '..', '..', '..', 'shared');
const ref = process.env.RLOTTIE_REF ?? '/tmp/rlottie-ref';
const SIZE = 512;
const QUALITY = 75;

async function main() {
  const names = (process.env.BENCH_STICKERS ?? 'sticker_07.tgs,sticker_02.tgs').split(',');
  const work = mkdtempSync(join(tmpdir(), 'sp-webp-'));
  console.log('| sticker | encoder | ms | bytes | PSNR dB |\n|---|---|---|---|---|');
  try {
    for (const name of names) {
      const dir = join(work, name);
      mkdirSync(dir);
      execFileSync(ref, [join(shared, 'corpus', 'tgs', name), String(SIZE), dir, 'all']);
      const n = readdirSync(dir).length;
      const frames: Buffer[] = [];
      for (let k = 0; k < n; k++) frames.push(await sharp(join(dir, `${k}.png`)).ensureAlpha().raw().toBuffer());
      const score = async (webp: Uint8Array) => {
        const all = await sharp(webp, { animated: true }).ensureAlpha().raw().toBuffer();
        const bytes = SIZE * SIZE * 4;
        const picked = Array.from({ length: 12 }, (_, s) => Math.floor(((s + 0.5) * n) / 12));
        return picked.reduce((sum, k) => sum + compositePsnr(all.subarray(k * bytes, (k + 1) * bytes), frames[k]), 0) / picked.length;
      };
      const run = async (label: string, encode: () => Promise<Uint8Array>) => {
        const started = performance.now();
        const data = await encode();
        const ms = performance.now() - started;
        console.log(`| ${name} | ${label} | ${ms.toFixed(0)} | ${data.length} | ${(await score(data)).toFixed(2)} |`);
      };
      const ours = (quality: number, effort: number) => async () => (await encodeAnimatedWebp(frames.map((rgba) => ({ rgba: new Uint8Array(rgba), delayMs: 17 })), { width: SIZE, height: SIZE, quality, effort })).data;
      for (const effort of [2, 3, 4, 6]) await run(`ours, method ${effort}`, ours(QUALITY, effort));
      // Lower qualities at our method, to read bytes at the PSNR WebPAnimEncoder reaches.
      for (const quality of [60, 45]) await run(`ours, method 2, quality ${quality}`, ours(quality, 2));
      const tall = Buffer.concat(frames);
      for (const opts of [{ effort: 2 }, { effort: 4 }, { effort: 4, mixed: true }]) {
        await run(`WebPAnimEncoder ${JSON.stringify(opts)}`, () =>
          sharp(tall, { raw: { width: SIZE, height: SIZE * n, channels: 4, pageHeight: SIZE } })
            .webp({ quality: QUALITY, alphaQuality: 80, delay: Array(n).fill(17), loop: 0, ...opts })
            .toBuffer(),
        );
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

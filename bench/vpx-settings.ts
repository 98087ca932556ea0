import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { compositePsnr } from './lib.js';

/**
 * libvpx-vp9 settings side by side on the same frames: rlottie's frames of a sticker (512 px) piped raw into
 * ffmpeg, as the service feeds its encoder; for each setting the time, the bytes and the PSNR of every
 * decoded frame against its source frame (composited on white and black). The first row is ffmpeg's
 * default (what the peer pipeline runs: CRF 32, good, speed 1). Reads bytes at equal PSNR across speeds.
 * Needs ffmpeg, and rlottie-ref as bench/peers.ts. Env: BENCH_STICKERS (default sticker_07,sticker_02).
 */
const shared = process.env.BENCH_SHARED ?? join(__dirname, '..', '..', '..', 'shared');
const ref = process.env.RLOTTIE_REF ?? '/tmp/rlottie-ref';
const SIZE = 512;
const SETTINGS: string[][] = [
  [],
  ...[1, 2, 4].flatMap((speed) => [28, 32, 36, 40].map((crf) => ['-b:v', '0', '-crf', String(crf), '-deadline', 'good', '-cpu-used', String(speed), '-row-mt', '1', '-threads', '2'])),
  ...[6, 8].flatMap((speed) => [28, 34].map((crf) => ['-b:v', '0', '-crf', String(crf), '-deadline', 'realtime', '-cpu-used', String(speed), '-row-mt', '1', '-threads', '2'])),
];

async function main() {
  const names = (process.env.BENCH_STICKERS ?? 'sticker_07.tgs,sticker_02.tgs').split(',');
  const work = mkdtempSync(join(tmpdir(), 'sp-vpx-'));
  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${SIZE} px; one run\n`);
  console.log('| sticker | settings (after -c:v libvpx-vp9 -pix_fmt yuva420p) | ms | bytes | PSNR dB |');
  console.log('|---|---|---|---|---|');
  try {
    for (const name of names) {
      const file = join(shared, 'corpus', 'tgs', name);
      const dir = join(work, name);
      mkdirSync(dir);
      execFileSync(ref, [file, String(SIZE), dir, 'all']);
      const fps = (JSON.parse(gunzipSync(readFileSync(file)).toString()) as { fr: number }).fr;
      const count = readdirSync(dir).length;
      const frames: Buffer[] = [];
      for (let k = 0; k < count; k++) frames.push(await sharp(join(dir, `${k}.png`)).ensureAlpha().raw().toBuffer());
      const raw = Buffer.concat(frames);
      for (const settings of SETTINGS) {
        const out = join(work, 'out.webm');
        const started = performance.now();
        const r = spawnSync('ffmpeg', ['-y', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${SIZE}x${SIZE}`, '-framerate', String(fps), '-i', 'pipe:0', '-c:v', 'libvpx-vp9', '-pix_fmt', 'yuva420p', ...settings, '-f', 'webm', out], { input: raw, maxBuffer: 1 << 30 });
        const ms = performance.now() - started;
        if (r.status !== 0) throw new Error(String(r.stderr));
        const decoded = execFileSync('ffmpeg', ['-v', 'error', '-c:v', 'libvpx-vp9', '-i', out, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'], { maxBuffer: 1 << 30 });
        const bytes = SIZE * SIZE * 4;
        const n = decoded.length / bytes;
        let total = 0;
        for (let k = 0; k < n; k++) total += compositePsnr(decoded.subarray(k * bytes, (k + 1) * bytes), frames[Math.min(count - 1, k)]);
        console.log(`| ${name} | ${settings.length ? settings.join(' ') : "ffmpeg's default"} | ${ms.toFixed(0)} | ${statSync(out).size} | ${(total / n).toFixed(2)} |`);
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

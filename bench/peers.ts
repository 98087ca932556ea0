import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildTestApp } from '../test/helper.js';
import { median } from './lib.js';

/**
 * The service next to the pipelines people use today, one run, same stickers, at 512 px: rlottie renders
 * every frame to PNG, then img2webp -lossy (WebP), ffmpeg libvpx-vp9 yuva420p (WebM) or ffmpeg
 * palettegen/paletteuse (GIF), timed by ../shared/tools/peer-pipeline.sh. For both: time, bytes, and a
 * quality score: the PSNR of up to 12 decoded frames against rlottie's frame at the same time, composited
 * on white and on black. GIF is measured twice: with our default dithered alpha (a pattern, which a
 * per-pixel score punishes however it looks) and with gif_alpha=threshold, the peer's choice.
 * Needs librlottie-dev, zlib1g-dev, libpng-dev, webp, ffmpeg; rlottie-ref built as peer-pipeline.sh says.
 * Env: BENCH_STICKERS (comma-separated names, default all of ../shared/corpus/tgs), BENCH_FORMATS
 * (webp,webm,gif), BENCH_QUALITY (75).
 */
const shared = process.env.BENCH_SHARED ?? join(__dirname, '..', '..', '..', 'shared');
const quality = Number(process.env.BENCH_QUALITY ?? 75);
const formats = (process.env.BENCH_FORMATS ?? 'webp,webm,gif').split(',');
const SIZE = 512;
const ref = process.env.RLOTTIE_REF ?? '/tmp/rlottie-ref';

interface Decoded {
  frames: Buffer[];
  durationMs: number;
}

async function decode(file: string, format: string, durationMs: number): Promise<Decoded> {
  if (format === 'webm') {
    const raw = execFileSync('ffmpeg', ['-v', 'error', '-c:v', 'libvpx-vp9', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'], { maxBuffer: 1 << 30 });
    const bytes = SIZE * SIZE * 4;
    return { frames: Array.from({ length: raw.length / bytes }, (_, i) => raw.subarray(i * bytes, (i + 1) * bytes)), durationMs };
  }
  const meta = await sharp(file, { animated: true }).metadata();
  const all = await sharp(file, { animated: true }).ensureAlpha().raw().toBuffer();
  const bytes = (meta.width ?? SIZE) * (meta.pageHeight ?? SIZE) * 4;
  const delays = meta.delay ?? [];
  // One entry per output frame, repeated for its delay in 10 ms steps, so frame times line up.
  const frames: Buffer[] = [];
  delays.forEach((d, i) => {
    for (let t = 0; t < Math.max(1, Math.round(d / 10)); t++) frames.push(all.subarray(i * bytes, (i + 1) * bytes));
  });
  return { frames, durationMs: delays.reduce((a, b) => a + b, 0) };
}

/** Mean PSNR (dB) over up to 12 times, of the composite on white and on black, against rlottie's frame at that time. */
async function score(d: Decoded, refDir: string, sourceFrames: number): Promise<number> {
  const samples = 12;
  const psnrs: number[] = [];
  for (let s = 0; s < samples; s++) {
    const at = (s + 0.5) / samples; // fraction of the duration
    const ours = d.frames[Math.min(d.frames.length - 1, Math.floor(at * d.frames.length))];
    const k = Math.min(sourceFrames - 1, Math.floor(at * sourceFrames));
    const theirs = await sharp(join(refDir, `${k}.png`)).ensureAlpha().raw().toBuffer();
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
    psnrs.push(mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse));
  }
  return psnrs.reduce((a, b) => a + b, 0) / psnrs.length;
}

async function main() {
  const dir = join(shared, 'corpus', 'tgs');
  const names = process.env.BENCH_STICKERS?.split(',') ?? readdirSync(dir).filter((f) => /^sticker_\d+\.tgs$/.test(f)).sort();
  const work = mkdtempSync(join(tmpdir(), 'sp-peers-'));
  const t = await buildTestApp({ ENDPOINT_TIMEOUT_SEC: '600', CONVERSION_TIMEOUT_SEC: '600', MAX_OUTPUT_SIZE: String(SIZE) });
  // Threads started and the renderer loaded before anything is timed.
  for (const format of formats) await t.app.inject({ method: 'POST', url: `/convert?format=${format}&size=64`, payload: readFileSync(join(dir, names[0])), headers: { 'content-type': 'application/octet-stream' } });
  const rows: string[] = [];
  const ratios: Record<string, { time: number[]; bytes: number[]; dpsnr: number[] }> = {};
  try {
    for (const name of names) {
      const file = join(dir, name);
      const refDir = join(work, name);
      mkdirSync(refDir, { recursive: true });
      execFileSync(ref, [file, String(SIZE), refDir, 'all']);
      const sourceFrames = readdirSync(refDir).length;
      for (const variant of formats.flatMap((f) => (f === 'gif' ? ['gif', 'gif-threshold'] : [f]))) {
        const format = variant.replace('-threshold', '');
        const extra = variant === 'gif-threshold' ? '&gif_alpha=threshold' : '';
        const peerOut = join(work, 'peer');
        const line = execFileSync('bash', [join(shared, 'tools', 'peer-pipeline.sh'), file, String(SIZE), format, String(quality)], { encoding: 'utf8', env: { ...process.env, PEER_OUT: peerOut, RLOTTIE_REF: ref } });
        const peerMs = Number(/total_ms=(\d+)/.exec(line)?.[1]);
        const peerBytes = Number(/bytes=(\d+)/.exec(line)?.[1]);
        const peerFile = join(peerOut, name.replace(/\.tgs$/, `.${format}`));
        const started = performance.now();
        const res = await t.app.inject({ method: 'POST', url: `/convert?format=${format}&size=${SIZE}&quality=${quality}${extra}`, payload: readFileSync(file), headers: { 'content-type': 'application/octet-stream' } });
        const ourMs = performance.now() - started;
        if (res.statusCode !== 200) throw new Error(`${name} ${format}: ${res.payload}`);
        const ourFile = join(work, `ours-${name}.${format}`);
        writeFileSync(ourFile, res.rawPayload);
        const durationMs = Number(res.headers['x-output-duration-ms']);
        const [ourScore, peerScore] = [await score(await decode(ourFile, format, durationMs), refDir, sourceFrames), await score(await decode(peerFile, format, durationMs), refDir, sourceFrames)];
        const r = (ratios[variant] ??= { time: [], bytes: [], dpsnr: [] });
        r.time.push(ourMs / peerMs);
        r.bytes.push(res.rawPayload.length / peerBytes);
        r.dpsnr.push(ourScore - peerScore);
        rows.push(`| ${name} | ${variant} | ${ourMs.toFixed(0)} | ${peerMs} | ${(ourMs / peerMs).toFixed(2)} | ${res.rawPayload.length} | ${peerBytes} | ${(res.rawPayload.length / peerBytes).toFixed(2)} | ${ourScore.toFixed(1)} | ${peerScore.toFixed(1)} |`);
        console.error(rows.at(-1));
      }
    }
  } finally {
    await t.close();
  }
  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ${SIZE} px, quality ${quality}; one run\n`);
  console.log('| sticker | format | ours ms | peer ms | time ratio | ours bytes | peer bytes | bytes ratio | ours PSNR dB | peer PSNR dB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('\n| format | median time ratio | median bytes ratio | median PSNR difference (ours − peer, dB) |');
  console.log('|---|---|---|---|');
  for (const [f, r] of Object.entries(ratios)) console.log(`| ${f} | ${median(r.time).toFixed(2)} | ${median(r.bytes).toFixed(2)} | ${median(r.dpsnr).toFixed(1)} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

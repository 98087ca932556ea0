import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { buildTestApp } from '../test/helper.js';
import { compositePsnr as psnr, median } from './lib.js';

/**
 * The service next to the pipelines people use today, one run, same stickers, at 512 px: rlottie renders
 * every frame to PNG, then img2webp -lossy (WebP), ffmpeg libvpx-vp9 yuva420p (WebM) or ffmpeg
 * palettegen/paletteuse (GIF), timed by ../shared/tools/peer-pipeline.sh. For both: time, bytes, and a
 * quality score: the PSNR of 12 decoded frames, each against rlottie's frame of the time it starts showing
 * (or a neighbour: see score()), composited on white and on black. GIF is measured twice: with our default
 * dithered alpha (a pattern, which a per-pixel score punishes however it looks) and with
 * gif_alpha=threshold, the peer's choice.
 * Needs librlottie-dev, zlib1g-dev, libpng-dev, webp, ffmpeg; rlottie-ref built as peer-pipeline.sh says.
 * Env: BENCH_STICKERS (comma-separated names, default all of ../shared/corpus/tgs), BENCH_FORMATS
 * (webp,webm,gif), BENCH_QUALITY (75; WebM is compared at the peer's CRF instead).
 */
const shared = process.env.BENCH_SHARED ?? join(__dirname, '..', '..', '..', 'shared');
const quality = Number(process.env.BENCH_QUALITY ?? 75);
const formats = (process.env.BENCH_FORMATS ?? 'webp,webm,gif').split(',');
const SIZE = 512;
const WEBM_AT_PEER_CRF = 70; // CRF 60 - 0.4 x 70 = 32
const ref = process.env.RLOTTIE_REF ?? '/tmp/rlottie-ref';

interface Decoded {
  width: number;
  height: number;
  /** Each shown frame and when it starts (ms from the start). */
  frames: Array<{ rgba: Buffer; startMs: number }>;
  durationMs: number;
}

async function decode(file: string, format: string, fallbackMs: number): Promise<Decoded> {
  if (format === 'webm') {
    const probe = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,r_frame_rate', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim().split(',');
    const [width, height] = [Number(probe[0]), Number(probe[1])];
    const [num, den] = probe[2].split('/').map(Number);
    const raw = execFileSync('ffmpeg', ['-v', 'error', '-c:v', 'libvpx-vp9', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'], { maxBuffer: 1 << 30 });
    const bytes = width * height * 4;
    const n = raw.length / bytes;
    const frameMs = (1000 * den) / num;
    return { width, height, frames: Array.from({ length: n }, (_, i) => ({ rgba: raw.subarray(i * bytes, (i + 1) * bytes), startMs: i * frameMs })), durationMs: n * frameMs || fallbackMs };
  }
  const meta = await sharp(file, { animated: true }).metadata();
  const all = await sharp(file, { animated: true }).ensureAlpha().raw().toBuffer();
  const [width, height] = [meta.width ?? SIZE, meta.pageHeight ?? SIZE];
  const bytes = width * height * 4;
  const delays = meta.delay ?? [];
  let at = 0;
  const frames = delays.map((d, i) => {
    const f = { rgba: all.subarray(i * bytes, (i + 1) * bytes), startMs: at };
    at += d;
    return f;
  });
  return { width, height, frames, durationMs: at };
}

/** A frame on a canvas of the reference's size (centred, as rlottie letterboxes). */
function onCanvas(d: Decoded, rgba: Buffer, side: number): Buffer {
  if (d.width === side && d.height === side) return rgba;
  const out = Buffer.alloc(side * side * 4);
  const [x0, y0] = [(side - d.width) >> 1, (side - d.height) >> 1];
  for (let y = 0; y < d.height; y++) rgba.copy(out, ((y + y0) * side + x0) * 4, y * d.width * 4, (y + 1) * d.width * 4);
  return out;
}

/**
 * Mean PSNR of 12 frames spread over the output, each against rlottie's frame of the time it starts
 * showing, on the source's clock (the output's duration scaled to the source's), or a neighbour of it,
 * whichever is closest: a frame is scored against the source frame it stands for, so neither a lower frame
 * rate (GIF's 50 fps) nor delays rounded to whole milliseconds count as error. Timing is reported apart:
 * duration and shortest delay.
 */
async function score(d: Decoded, refDir: string, sourceFrames: number, sourceFps: number): Promise<number> {
  const samples = Math.min(12, d.frames.length);
  const reference = (k: number) => sharp(join(refDir, `${Math.max(0, Math.min(sourceFrames - 1, k))}.png`)).ensureAlpha().raw().toBuffer();
  let total = 0;
  for (let s = 0; s < samples; s++) {
    const frame = d.frames[Math.floor(((s + 0.5) * d.frames.length) / samples)];
    const ours = onCanvas(d, frame.rgba, SIZE);
    // On the source's clock: an output a little slower or faster throughout (the peer's WebP: 17 ms delays
    // for 16.7) is compared frame for frame; its timing shows in the duration column.
    const k = Math.floor((frame.startMs * sourceFrames) / d.durationMs);
    total += Math.max(...(await Promise.all([k - 1, k, k + 1].map(async (j) => psnr(ours, await reference(j))))));
  }
  return total / samples;
}

/** Duration (ms) and shortest frame delay: browsers show a GIF or WebP frame of 10 ms or less for 100 ms. */
function timing(d: Decoded): string {
  const delays = d.frames.map((f, i) => (d.frames[i + 1]?.startMs ?? d.durationMs) - f.startMs);
  return `${Math.round(d.durationMs)} / ${Math.round(Math.min(...delays))}`;
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
      const sourceFps = (JSON.parse(gunzipSync(readFileSync(file)).toString()) as { fr: number }).fr;
      for (const variant of formats.flatMap((f) => (f === 'gif' ? ['gif', 'gif-threshold'] : [f]))) {
        const format = variant.replace('-threshold', '');
        const extra = variant === 'gif-threshold' ? '&gif_alpha=threshold' : '';
        const peerOut = join(work, 'peer');
        const line = execFileSync('bash', [join(shared, 'tools', 'peer-pipeline.sh'), file, String(SIZE), format, String(quality)], { encoding: 'utf8', env: { ...process.env, PEER_OUT: peerOut, RLOTTIE_REF: ref } });
        const peerMs = Number(/total_ms=(\d+)/.exec(line)?.[1]);
        const peerBytes = Number(/bytes=(\d+)/.exec(line)?.[1]);
        const peerFile = join(peerOut, name.replace(/\.tgs$/, `.${format}`));
        const started = performance.now();
        // The peer's WebM runs ffmpeg's default, CRF 32: ours at the same CRF (quality 70), the same rate
        // control target (the PSNR of the encoders on the same frames is then equal: bench:vpx).
        const ourQuality = format === 'webm' ? WEBM_AT_PEER_CRF : quality;
        const res = await t.app.inject({ method: 'POST', url: `/convert?format=${format}&size=${SIZE}&quality=${ourQuality}${extra}`, payload: readFileSync(file), headers: { 'content-type': 'application/octet-stream' } });
        const ourMs = performance.now() - started;
        if (res.statusCode !== 200) throw new Error(`${name} ${format}: ${res.payload}`);
        const ourFile = join(work, `ours-${name}.${format}`);
        writeFileSync(ourFile, res.rawPayload);
        const durationMs = Number(res.headers['x-output-duration-ms']);
        const [ourDecoded, peerDecoded] = [await decode(ourFile, format, durationMs), await decode(peerFile, format, durationMs)];
        const [ourScore, peerScore] = [await score(ourDecoded, refDir, sourceFrames, sourceFps), await score(peerDecoded, refDir, sourceFrames, sourceFps)];
        const r = (ratios[variant] ??= { time: [], bytes: [], dpsnr: [] });
        r.time.push(ourMs / peerMs);
        r.bytes.push(res.rawPayload.length / peerBytes);
        r.dpsnr.push(ourScore - peerScore);
        rows.push(`| ${name} | ${variant} | ${ourMs.toFixed(0)} | ${peerMs} | ${(ourMs / peerMs).toFixed(2)} | ${res.rawPayload.length} | ${peerBytes} | ${(res.rawPayload.length / peerBytes).toFixed(2)} | ${ourScore.toFixed(1)} | ${peerScore.toFixed(1)} | ${timing(ourDecoded)} | ${timing(peerDecoded)} |`);
        console.error(rows.at(-1));
      }
    }
  } finally {
    await t.close();
  }
  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ${SIZE} px, quality ${quality}; one run\n`);
  console.log('| sticker | format | ours ms | peer ms | time ratio | ours bytes | peer bytes | bytes ratio | ours PSNR dB | peer PSNR dB | ours ms / shortest delay | peer ms / shortest delay |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('\n| format | median time ratio | median bytes ratio | median PSNR difference (ours − peer, dB) |');
  console.log('|---|---|---|---|');
  for (const [f, r] of Object.entries(ratios)) console.log(`| ${f} | ${median(r.time).toFixed(2)} | ${median(r.bytes).toFixed(2)} | ${median(r.dpsnr).toFixed(1)} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestApp } from '../test/helper.js';
import { fixtures, median, timedMiss } from './lib.js';

/**
 * Video stickers to every output format at 512 px through the service (instant fake Telegram, a miss every
 * time, ffmpeg), median of BENCH_REPEATS (3) per cell, with the output size. Three inputs: the repository's
 * 161x121 VP9-alpha fixture, and two made here with ffmpeg at Telegram's limits (512x512, 30 fps, 3 s): that
 * fixture's camera footage scaled and looped ("photo"), and a test pattern moving over a transparent
 * canvas ("cartoon", closer to what video stickers usually show). Env: BENCH_FORMATS (gif,webp,apng,mp4).
 */
const FORMATS = (process.env.BENCH_FORMATS ?? 'gif,webp,apng,mp4').split(',');
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

function made(name: string, args: string[]): Buffer {
  const out = join(mkdtempSync(join(tmpdir(), 'sp-video-')), `${name}.webm`);
  const vp9 = ['-c:v', 'libvpx-vp9', '-b:v', '400k', '-deadline', 'realtime', '-cpu-used', '8', '-auto-alt-ref', '0'];
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, ...vp9, out]);
  return readFileSync(out);
}

function inputs(): Array<[string, Buffer]> {
  const fixture = join(fixtures, 'animated_webm_161x121_2s_vp9a.webm');
  const photo = made('photo', ['-c:v', 'libvpx-vp9', '-i', fixture, '-filter_complex', '[0:v]loop=1:size=100,scale=512:512,fps=30,trim=duration=3,format=yuva420p[o]', '-map', '[o]']);
  const cartoon = made('cartoon', [
    '-f', 'lavfi', '-i', 'color=c=black@0.0:s=512x512:r=30:d=3,format=rgba',
    '-f', 'lavfi', '-i', 'testsrc2=s=160x160:r=30:d=3,format=rgba',
    '-filter_complex', "[0][1]overlay=x='40+t*90':y='100+t*40':format=auto,format=yuva420p[o]", '-map', '[o]',
  ]); // prettier-ignore
  return [['fixture 161x121', readFileSync(fixture)], ['photo 512x512', photo], ['cartoon 512x512', cartoon]];
}

async function main() {
  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), Node ${process.version}; ffmpeg ${execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }).split(' ')[2]}; 512 px, median of ${REPEATS} misses\n`);
  const t = await buildTestApp({ MEMORY_CACHE_MB: '0', CONVERSION_TIMEOUT_SEC: '120', ENDPOINT_TIMEOUT_SEC: '120', LOG_LEVEL: 'warn' });
  try {
    console.log(`| video | ${FORMATS.map((f) => `${f} ms | ${f} bytes`).join(' | ')} |`);
    console.log(`|${'---|'.repeat(FORMATS.length * 2 + 1)}`);
    for (const [name, video] of inputs()) {
      const cells: string[] = [];
      for (const format of FORMATS) {
        const runs: Array<{ ms: number; bytes: number }> = [];
        for (let i = 0; i < REPEATS; i++) runs.push(await timedMiss(t, video, `format=${format}&size=512`));
        cells.push(median(runs.map((r) => r.ms)).toFixed(0), runs[0].bytes.toLocaleString('en'));
      }
      console.log(`| ${name} | ${cells.join(' | ')} |`);
    }
  } finally {
    await t.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

import { dotLottieRenderer } from '../src/convert/render/dotlottie.js';
import { scoreRenderer } from '../test/fidelity.js';

/** Prints, per corpus animation, the PSNR of our frames against rlottie's reference frames (markdown). */
async function main() {
  const scores = await scoreRenderer(dotLottieRenderer);
  console.log(`| file | frame | PSNR dB (worse of over white / over black) |`);
  console.log('|---|---|---|');
  for (const s of scores) console.log(`| ${s.name} | ${s.frame} | ${s.psnr.toFixed(1)}${s.blank ? ' (blank!)' : ''} |`);
  const sorted = scores.map((s) => s.psnr).sort((a, b) => a - b);
  console.log(`\nframes: ${scores.length}, median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} dB, min ${sorted[0].toFixed(1)} dB, blank ${scores.filter((s) => s.blank).length}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

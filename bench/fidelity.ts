import { rendererNamed } from '../src/convert/render/select.js';
import { scoreRenderer, type FrameScore } from '../test/fidelity.js';
import { availableRenderers } from '../test/helper.js';

/** Prints, per corpus animation, the PSNR of our frames against rlottie's reference frames (markdown). */
async function main() {
  const renderers = availableRenderers().map(rendererNamed);
  const all: FrameScore[][] = [];
  for (const r of renderers) all.push(await scoreRenderer(r));
  console.log(`| file | frame | ${renderers.map((r) => `${r.name} PSNR dB`).join(' | ')} |`);
  console.log(`|---|---|${renderers.map(() => '---|').join('')}`);
  all[0].forEach((s, i) => console.log(`| ${s.name} | ${s.frame} | ${all.map((scores) => `${scores[i].psnr.toFixed(1)}${scores[i].blank ? ' (blank!)' : ''}`).join(' | ')} |`));
  for (const [k, scores] of all.entries()) {
    const sorted = scores.map((s) => s.psnr).sort((a, b) => a - b);
    console.log(`\n${renderers[k].name}: frames ${scores.length}, median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} dB, min ${sorted[0].toFixed(1)} dB, blank ${scores.filter((s) => s.blank).length}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { rendererNamed } from '../src/convert/render/select.js';
import type { Renderer } from '../src/convert/render/renderer.js';
import { referenceSet, withLoaded } from '../test/fidelity.js';
import { availableRenderers } from '../test/helper.js';
import { fixtures, median, rlottieSpeed, stickerFiles } from './lib.js';
import { ThreadPool } from '../src/convert/pool.js';

/**
 * Rendering speed alone: every frame of every corpus animation at 512 and 256 px, single thread, best of
 * three, next to rlottie's figures for the same files on the same kind of machine.
 */
const rlottie = rlottieSpeed();

function msPerFrame(renderer: Renderer, json: string, size: number): Promise<{ ms: number; frames: number }> {
  return withLoaded(renderer, json, size, size, (anim) => {
    let best = Infinity;
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      for (let k = 0; k < anim.frames; k++) anim.frame(k);
      best = Math.min(best, performance.now() - t0);
    }
    return { ms: best / anim.frames, frames: anim.frames };
  });
}

async function main() {
  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), Node ${process.version}; one thread; best of 3 over all frames\n`);
  const renderers = availableRenderers().map(rendererNamed);
  for (const renderer of renderers) {
    console.log(`\n${renderer.name}:\n`);
    console.log('| file | frames | ms/frame 512 | rlottie 512 | ratio | ms/frame 256 | rlottie 256 | ratio |');
    console.log('|---|---|---|---|---|---|---|---|');
    const ratios512: number[] = [];
    const ratios256: number[] = [];
    for (const { name, json } of referenceSet()) {
      const a = await msPerFrame(renderer, json, 512);
      const b = await msPerFrame(renderer, json, 256);
      const r = rlottie.get(name);
      const r512 = r ? a.ms / r.ms512 : NaN;
      const r256 = r ? b.ms / r.ms256 : NaN;
      ratios512.push(r512);
      ratios256.push(r256);
      console.log(`| ${name} | ${a.frames} | ${a.ms.toFixed(3)} | ${r?.ms512 ?? '?'} | ${r512.toFixed(2)} | ${b.ms.toFixed(3)} | ${r?.ms256 ?? '?'} | ${r256.toFixed(2)} |`);
    }
    console.log(`\n${renderer.name}: median ratio to rlottie: ${median(ratios512).toFixed(2)} at 512, ${median(ratios256).toFixed(2)} at 256`);
  }

  // PNG of one frame through the pool (what ?format=png costs on a miss): load + render + encode.
  const pool = new ThreadPool({ threads: 1, queueMax: 16, taskTimeoutMs: 30_000, maxLottieBytes: 16 << 20 });
  const files = stickerFiles().map((f) => readFileSync(join(fixtures, f)));
  const first = await pool.renderPng(files[0], { width: 512, height: 448, frame: 0 });
  console.log(`\nPNG of one frame via the pool, first task of a fresh thread (loads wasm and libvips): ${first.ms.toFixed(1)} ms`);
  for (const size of [512, 256]) {
    const times: number[] = [];
    for (let rep = 0; rep < 3; rep++) for (const f of files) times.push((await pool.renderPng(f, { width: size, height: size, frame: 0 })).ms);
    console.log(`PNG of frame 0 at ${size}px, warm thread, ${times.length} conversions over the 10 stickers: median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`);
  }
  await pool.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

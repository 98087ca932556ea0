import { readFileSync } from 'node:fs';
import { DotLottie } from '@lottiefiles/dotlottie-web';
import type { LoadedAnimation, Renderer } from './renderer.js';

let wasmReady = false;

// Node 20's fetch cannot read file:// URLs, so the package's own wasm is handed over as a data: URL, once
// per thread. Nothing is fetched from the network.
function ensureWasm(): void {
  if (wasmReady) return;
  const entry = require.resolve('@lottiefiles/dotlottie-web');
  const wasm = readFileSync(entry.replace(/index\.c?js$/, 'dotlottie-player.wasm'));
  DotLottie.setWasmUrl(`data:application/wasm;base64,${wasm.toString('base64')}`);
  wasmReady = true;
}

/** ThorVG (compiled to wasm) through @lottiefiles/dotlottie-web, headless: it renders into its own buffer. */
export const dotLottieRenderer: Renderer = {
  name: 'dotlottie',
  load(json, width, height) {
    ensureWasm();
    return new Promise<LoadedAnimation>((resolve, reject) => {
      const player = new DotLottie({
        canvas: { width, height },
        data: json,
        autoplay: false,
        loop: false,
        useFrameInterpolation: false,
      });
      player.addEventListener('loadError', (e) => {
        player.destroy();
        reject(new Error(`the renderer could not load the animation: ${String((e as { error?: Error }).error?.message ?? 'unknown error')}`));
      });
      player.addEventListener('load', () => {
        resolve({
          frames: Math.round(player.totalFrames),
          width,
          height,
          frame(k) {
            player.setFrame(k);
            const buf = player.buffer;
            if (!buf) throw new Error('the renderer produced no frame');
            return buf;
          },
          destroy: () => player.destroy(),
        });
      });
    });
  },
};


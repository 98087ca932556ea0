import { readFileSync } from 'node:fs';
import { DotLottie } from '@lottiefiles/dotlottie-web';
import type { LoadedAnimation, Renderer } from './renderer.js';

let wasmReady = false;

// Node 20's fetch cannot read file:// URLs, so the package's own wasm is handed over as an in-memory blob:
// URL, once per thread (a data: URL works too, but then every wasm stack trace carries 1.6 MB of base64).
// Nothing is fetched from the network.
function ensureWasm(): void {
  if (wasmReady) return;
  const entry = require.resolve('@lottiefiles/dotlottie-web');
  const wasm = readFileSync(entry.replace(/index\.c?js$/, 'dotlottie-player.wasm'));
  DotLottie.setWasmUrl(URL.createObjectURL(new Blob([wasm], { type: 'application/wasm' })));
  wasmReady = true;
}

/** The renderer failed in a way that may leave its wasm instance unusable (e.g. a trap on stack overflow). */
export class RendererFailure extends Error {
  override name = 'RendererFailure';
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
        const why = String((e as { error?: Error }).error?.message ?? 'unknown error').slice(0, 200);
        try {
          player.destroy();
        } catch {
          // a trapped wasm instance may fail to free; the thread is recycled after this task anyway
        }
        reject(new RendererFailure(`the renderer could not load the animation: ${why}`));
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


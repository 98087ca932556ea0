import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import type { LoadedAnimation, Renderer } from '../src/convert/render/renderer.js';
import { fixturesDir } from './helper.js';
import { sanitizeLottie } from '../src/convert/render/sanitize.js';

/** The corpus animations that have rlottie reference frames in test/fixtures/reference/<name>/<k>.png, as sanitised for rendering. */
export function referenceSet(): Array<{ name: string; json: string; frames: number[] }> {
  const refDir = join(fixturesDir, 'reference');
  return readdirSync(refDir)
    .filter((n) => existsSync(join(refDir, n, '0.png')))
    .sort()
    .map((name) => {
      const tgs = join(fixturesDir, `${name}.tgs`);
      const text = existsSync(tgs) ? gunzipSync(readFileSync(tgs)).toString('utf8') : readFileSync(join(fixturesDir, 'lottie', `${name}.json`), 'utf8');
      const json = sanitizeLottie(text); // what the service hands to its renderer
      const frames = readdirSync(join(refDir, name))
        .map((f) => Number(f.replace(/\.png$/, '')))
        .sort((a, b) => a - b);
      return { name, json, frames };
    });
}

/** PSNR in dB of two straight-alpha RGBA images composited over an opaque background colour. */
export function psnrOver(a: Uint8Array, b: Uint8Array, bg: number): number {
  let se = 0;
  for (let i = 0; i < a.length; i += 4) {
    const aa = a[i + 3] / 255;
    const ba = b[i + 3] / 255;
    for (let c = 0; c < 3; c++) {
      const d = a[i + c] * aa + bg * (1 - aa) - (b[i + c] * ba + bg * (1 - ba));
      se += d * d;
    }
  }
  const mse = se / ((a.length / 4) * 3);
  return mse === 0 ? 99 : 10 * Math.log10((255 * 255) / mse);
}

export interface FrameScore {
  name: string;
  frame: number;
  /** The worse of the composites over white and over black. */
  psnr: number;
  blank: boolean;
}

/** Loads json at width x height, runs fn with the animation, and destroys it whatever happens. */
export async function withLoaded<T>(renderer: Renderer, json: string, width: number, height: number, fn: (anim: LoadedAnimation) => T | Promise<T>): Promise<T> {
  const anim = await renderer.load(json, width, height);
  try {
    return await fn(anim);
  } finally {
    anim.destroy();
  }
}

/** Renders each reference frame at 512x512 and scores it against rlottie's. */
export async function scoreRenderer(renderer: Renderer): Promise<FrameScore[]> {
  const scores: FrameScore[] = [];
  for (const { name, json, frames } of referenceSet()) {
    await withLoaded(renderer, json, 512, 512, async (anim) => {
      for (const k of frames) {
        const ours = anim.frame(k).slice();
        const ref = await sharp(join(fixturesDir, 'reference', name, `${k}.png`)).ensureAlpha().raw().toBuffer();
        const opaqueSomewhere = (px: Uint8Array) => px.some((v, i) => i % 4 === 3 && v !== 0);
        // Blank where rlottie drew something: the failure mode a broken renderer shows.
        const blank = !opaqueSomewhere(ours) && opaqueSomewhere(ref);
        scores.push({ name, frame: k, psnr: Math.min(psnrOver(ours, ref, 255), psnrOver(ours, ref, 0)), blank });
      }
    });
  }
  return scores;
}

import { quantize } from 'gifenc';

// Palettes shared by every frame of an animation (GIF, and palette APNG), and mapping pixels to them.

/** An RGBA palette for a palette APNG: fewer colours at lower quality (256 from quality 80 up, 64 at 50, 16 at 20). */
export function rgbaPalette(sample: Uint8Array, quality: number): number[][] {
  const colours = Math.max(16, Math.min(256, Math.round(2 ** (4 + (4 * (quality - 20)) / 60))));
  // One entry kept for clear pixels, which a square canvas's margins need even if the sample has none.
  const palette = quantize(sample, colours - 1, { format: 'rgba4444', clearAlpha: true });
  if (!palette.some((c) => c[3] === 0)) palette.push([0, 0, 0, 0]);
  return palette;
}

/**
 * The sample's pixels that show (half opacity or more), made opaque, in a buffer of their own (quantize
 * reads its argument's whole buffer); without alpha, the sample as it is.
 */
export function visibleColours(sample: Uint8Array, withAlpha: boolean): Uint8Array {
  if (!withAlpha) return sample;
  const px = new Uint32Array(sample.buffer, sample.byteOffset, sample.length >> 2);
  const out = new Uint32Array(Math.max(1, px.length));
  let n = 0;
  for (let i = 0; i < px.length; i++) if (px[i] >>> 24 >= 128) out[n++] = px[i] | 0xff000000;
  if (n === 0) out[n++] = 0xff000000; // nothing visible: one black entry, never used
  return new Uint8Array(out.buffer, 0, n * 4).slice();
}

/**
 * Maps pixels to the palette's nearest colour through one cache for the whole animation, keyed by 6 bits
 * of each channel (gifenc's applyPalette keys by 4 or 5 bits and keeps a sparse Array per frame: coarser
 * and slower). A bucket takes the nearest entry to the first pixel seen in it. With alpha, a pixel under
 * half opacity is the transparent entry (index palette.length), whatever colour it carries: colour under
 * transparent pixels is arbitrary.
 */
export function paletteIndexer(palette: number[][], withAlpha: boolean): (rgba: Uint8Array) => Uint8Array {
  const cache = new Int16Array(1 << 18).fill(-1);
  const clear = palette.length;
  return (rgba) => {
    const px = new Uint32Array(rgba.buffer, rgba.byteOffset, rgba.length >> 2);
    const out = new Uint8Array(px.length);
    // Flat art repeats a colour along a row: the last pixel's entry is taken without a lookup.
    let last = -1;
    let lastK = 0;
    for (let i = 0; i < px.length; i++) {
      const c = px[i];
      if (c === last) {
        out[i] = lastK;
        continue;
      }
      let k: number;
      if (withAlpha && c >>> 24 < 128) k = clear;
      else {
        const key = ((c & 0xfc) << 10) | ((c >> 4) & 0xfc0) | ((c >> 18) & 0x3f);
        k = cache[key];
        if (k < 0) k = cache[key] = nearestEntry(palette, c & 0xff, (c >> 8) & 0xff, (c >> 16) & 0xff);
      }
      out[i] = lastK = k;
      last = c;
    }
    return out;
  };
}

/**
 * Maps translucent pixels to an RGBA palette (PNG's PLTE with tRNS) through one cache for the whole
 * animation, keyed by 5 bits of each colour channel and 3 of alpha; a bucket takes the nearest entry (alpha
 * weighed as a colour channel) to the first pixel seen in it. A clear pixel is the palette's clear entry.
 */
export function rgbaIndexer(palette: number[][]): (rgba: Uint8Array) => Uint8Array {
  const cache = new Int16Array(1 << 18).fill(-1);
  const clear = palette.findIndex((c) => c[3] === 0);
  return (rgba) => {
    const px = new Uint32Array(rgba.buffer, rgba.byteOffset, rgba.length >> 2);
    const out = new Uint8Array(px.length);
    for (let i = 0; i < px.length; i++) {
      const c = px[i];
      if (c >>> 24 === 0 && clear >= 0) {
        out[i] = clear;
        continue;
      }
      const key = ((c & 0xf8) << 10) | ((c >> 3) & 0x1f00) | ((c >> 16) & 0xf8) | (c >>> 29);
      let k = cache[key];
      if (k < 0) k = cache[key] = nearestEntry(palette, c & 0xff, (c >> 8) & 0xff, (c >> 16) & 0xff, c >>> 24);
      out[i] = k;
    }
    return out;
  };
}

/** Index of the palette entry nearest to the colour (squared distance; alpha too when given). */
function nearestEntry(palette: number[][], r: number, g: number, b: number, a?: number): number {
  let best = 0;
  let bestD = Infinity;
  for (let k = 0; k < palette.length; k++) {
    const p = palette[k];
    const d = (p[0] - r) ** 2 + (p[1] - g) ** 2 + (p[2] - b) ** 2 + (a === undefined ? 0 : (p[3] - a) ** 2);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

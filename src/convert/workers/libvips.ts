import sharp from 'sharp';
import { paint } from './frames.js';

// What every libvips (sharp) encoder in the threads shares; no renderer here, so still-image tasks load none.

// PNG is lossless, so effort only trades CPU for size: level 6 is zlib's balance. No adaptive filtering:
// on sticker frames it cost ~10 ms at 512 px and made files larger (46.8 vs 39.5 KB, BENCHMARKS.md).
export const PNG_OPTIONS = { compressionLevel: 6 } as const;

/** An [r, g, b] colour as sharp takes it. */
export const rgb = ([r, g, b]: [number, number, number]) => ({ r, g, b });

/**
 * An image tinted (every pixel takes the colour, keeping its alpha) and flattened onto a background. A tint
 * goes through raw pixels: libvips would flatten before any colour operation.
 */
export async function painted(img: sharp.Sharp, tint: [number, number, number] | undefined, background: [number, number, number] | undefined): Promise<sharp.Sharp> {
  if (!tint) return background ? img.flatten({ background: rgb(background) }) : img;
  const { data, info } = await img.ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  paint(data, tint, background);
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } });
}

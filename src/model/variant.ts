import type { PresetName } from './presets.js';

/** The output variants of a sticker: what the engine makes, and the key each is cached under. */

/** What to make from the stored sticker, with every default filled in: equal specs share one cache entry. */
export type VariantSpec =
  | { kind: 'as-stored' } // TGS as Lottie (gzip or JSON), everything else as Telegram has it
  | { kind: 'original' } // TGS bytes as application/x-tgsticker
  | { kind: 'png'; width: number; height: number; frame: number; background?: [number, number, number]; tint?: [number, number, number] }
  // An animation (TGS, or an animated WebP/GIF: width and height 0 keep the image's size, fps 0 its timing).
  | { kind: 'webp' | 'apng' | 'webm' | 'mp4'; width: number; height: number; fps: number; quality: number; background?: [number, number, number]; tint?: [number, number, number] }
  | { kind: 'gif'; width: number; height: number; fps: number; quality: number; background?: [number, number, number]; tint?: [number, number, number]; gifAlpha: GifAlpha }
  | { kind: 'preset'; name: PresetName }
  | { kind: 'video'; format: 'png' | 'webp' | 'gif' | 'mp4' | 'apng'; size?: number; fps?: number; quality: number; background?: [number, number, number]; tint?: [number, number, number]; gifAlpha?: GifAlpha };

/** A variant that needs the engine (everything but the stored form). */
export type ConvertSpec = Exclude<VariantSpec, { kind: 'as-stored' }>;

/** How translucent pixels become GIF's 1-bit alpha: an ordered dither pattern, or one threshold (128). */
export type GifAlpha = 'dither' | 'threshold';

/** A stable key for the variant: ?format=png&size=512 and ?size=512&format=png are one entry. */
export function variantKey(v: VariantSpec): string {
  switch (v.kind) {
    case 'as-stored':
      return 'default';
    case 'original':
      return 'original';
    case 'png':
      return `png-${v.width}x${v.height}-f${v.frame}-${colourKey(v.background)}${tintKey(v.tint)}`;
    case 'webp':
    case 'apng':
    case 'webm':
    case 'mp4':
      return `${v.kind}-${v.width}x${v.height}-fps${v.fps}-q${v.quality}-${colourKey(v.background)}${tintKey(v.tint)}`;
    case 'gif':
      return `gif-${v.width}x${v.height}-fps${v.fps}-q${v.quality}-${colourKey(v.background)}-${v.gifAlpha}${tintKey(v.tint)}`;
    case 'preset':
      return `preset-${v.name}`;
    case 'video':
      return `video-${v.format}-s${v.size ?? 'src'}-fps${v.fps ?? 'src'}-q${v.quality}-${colourKey(v.background)}${v.gifAlpha ? `-${v.gifAlpha}` : ''}${tintKey(v.tint)}`;
  }
}

/** The size whose longer edge is edge, the ratio of width x height kept. */
export function fitEdge(width: number, height: number, edge: number): { width: number; height: number } {
  const scale = edge / Math.max(width, height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** An opaque colour as six hex digits (rrggbb). */
export const rgbHex = (c: readonly [number, number, number]) => c.map((x) => x.toString(16).padStart(2, '0')).join('');

const colourKey = (c?: [number, number, number]) => (c ? rgbHex(c) : 'transparent');
// Untinted keys stay as they were (entries cached before tint existed are still found).
const tintKey = (c?: [number, number, number]) => (c ? `-tint${rgbHex(c)}` : '');

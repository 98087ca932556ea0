import { encodeApng } from './apng.js';
import { encodeGif } from './gif.js';
import { rgbaPalette } from './palette.js';
import type { GifAlpha } from '../../model/variant.js';
import { encodeVideo } from './video-encode.js';
import { encodeAnimatedWebp } from './webp.js';
import { onSquare, type Frames } from './frames.js';

const COMPACT_WEBP_METHOD = 4;

export type AnimatedFormat = 'webp' | 'gif' | 'apng' | 'webm' | 'mp4';

export interface AnimationOptions {
  format: AnimatedFormat;
  width: number;
  height: number;
  /** The frames' rate when they come at a steady one (Lottie); video outputs are written at it. */
  fps?: number;
  quality: number;
  gifAlpha?: GifAlpha;
  /** Set when the frames were composited onto it (GIF's palette then needs no transparency). */
  background?: [number, number, number];
  ffmpegPath?: string;
  /** Centre the frames on a square canvas of this side (no larger than it is wide or high: never cropped). */
  square?: number;
  /** Spend encoding time for bytes: WebP at libwebp's method 4 (a fifth fewer bytes, 2.2-2.4 times the time). */
  compact?: boolean;
}

/** Any animation's frames, whatever made them, to one of the animated formats. */
export async function encodeAnimation(source: Frames, sampleOf: () => Uint8Array, options: AnimationOptions): Promise<{ data: Uint8Array; width: number; height: number; frames: number }> {
  const side = options.square && Math.max(options.square, options.width, options.height);
  const frames = side ? onSquare(source, options.width, options.height, side) : source;
  const o = side ? { ...options, width: side, height: side } : options;
  const r =
    o.format === 'gif'
      ? await encodeGif(frames, sampleOf(), { width: o.width, height: o.height, background: o.background, alpha: o.gifAlpha ?? 'dither' })
      : o.format === 'apng'
        ? await encodeApng(frames, o.width, o.height, o.quality < 100 ? rgbaPalette(sampleOf(), o.quality) : undefined) // merges repeated frames too
        : o.format === 'webp'
          ? await encodeAnimatedWebp(frames, { width: o.width, height: o.height, quality: o.quality, effort: o.compact ? COMPACT_WEBP_METHOD : undefined }) // merges repeated frames
          : await encodeVideo(frames, { format: o.format, width: o.width, height: o.height, fps: o.fps, quality: o.quality, ffmpegPath: o.ffmpegPath ?? 'ffmpeg' });
  return { data: r.data, width: o.width, height: o.height, frames: r.frames };
}

/** Messages between the main thread and the pool's threads; both sides import only this file's types (and the model's). */
import type { LottieInfo } from '../model/entry.js';
import type { GifAlpha } from '../model/variant.js';

export interface DecodeTgsTask {
  kind: 'decode-tgs';
  /** The gzip bytes; moved, not copied. */
  data: Uint8Array;
  maxLottieBytes: number;
  maxDimension: number;
  maxFrames: number;
  /** Return the decompressed JSON too (only when the asking client does not take gzip). */
  wantJson: boolean;
  /** data is Lottie JSON itself (an upload), not gzip: it is validated, then compressed. */
  plainJson?: boolean;
}

export type DecodeTgsResult =
  | { ok: true; info: LottieInfo; json?: Uint8Array; gzip: Uint8Array; /** Unsafe things removed from the document (expressions...). */ removed: number }
  | { ok: false; reason: 'not-gzip' | 'truncated' | 'too-large' | 'not-json' | 'not-lottie'; detail: string; gzip: Uint8Array };

/** Render one frame of a TGS to PNG. */
export interface RenderPngTask {
  kind: 'render-png';
  gzip: Uint8Array;
  /** Identifies the animation (its ETag), so the thread can keep it loaded between tasks. */
  cacheKey?: string;
  maxLottieBytes: number;
  width: number;
  height: number;
  /** Counted from the in-point. */
  frame: number;
  /** Opaque RGB to composite onto, or undefined for transparent. */
  background?: [number, number, number];  /** Every pixel takes this colour, keeping its alpha (before the background): needs_repainting emoji. */
  tint?: [number, number, number];
}

/**
 * Convert an image (WebP, PNG, JPEG, GIF) fitted within size x size: one frame to PNG, or every frame of an
 * animated one to an animated format (a still stays a still: WebP, GIF, or PNG for APNG).
 */
export interface ImageTask {
  kind: 'convert-image';
  data: Uint8Array;
  size?: number;
  background?: [number, number, number];
  /** Every pixel takes this colour, keeping its alpha (before the background): needs_repainting emoji. */
  tint?: [number, number, number];
  format: 'png' | 'webp' | 'gif' | 'apng' | 'webm' | 'mp4';
  /** With png: which frame of an animated image. */
  frame?: number;
  quality?: number;
  maxFrames: number;
  gifAlpha?: GifAlpha;
  ffmpegPath?: string;
  /** Centre the result on a square canvas of this side. */
  square?: number;
  /** Spend encoding time for bytes (presets: a result that fits at a higher quality). */
  compact?: boolean;
  /** 'video': data is a video sticker, decoded by ffmpeg. */
  source?: 'image' | 'video';
  /** At most this frame rate: ffmpeg decodes a video at it; an animated image's frames are resampled to it. */
  fps?: number;
}

/** Render a whole TGS into an animated WebP or GIF that loops forever with the source's timing. */
export interface RenderAnimTask {
  kind: 'render-anim';
  format: 'webp' | 'gif' | 'apng' | 'webm' | 'mp4';
  gzip: Uint8Array;
  cacheKey?: string;
  maxLottieBytes: number;
  width: number;
  height: number;
  /** Output frame rate; never above the source's. */
  fps: number;
  /** The animation's own frame rate (Lottie fr). */
  sourceFps: number;
  quality: number;
  background?: [number, number, number];
  /** Every pixel takes this colour, keeping its alpha (before the background): needs_repainting emoji. */
  tint?: [number, number, number];
  gifAlpha?: GifAlpha;
  /** The ffmpeg binary, for webm and mp4. */
  ffmpegPath?: string;
  /** Centre the result on a square canvas of this side. */
  square?: number;
  /** Spend encoding time for bytes (presets: a result that fits at a higher quality). */
  compact?: boolean;
}

/** Stickers' first frames (PNG, each within tile x tile; null for a cell left empty) as one grid image. */
export interface GridTask {
  kind: 'compose-grid';
  tiles: Array<Uint8Array | null>;
  tile: number;
  columns: number;
  /** The whole image (the layout's, sticker/grid.ts). */
  width: number;
  height: number;
  format: 'webp' | 'png';
  /** WebP's quality. */
  quality: number;
  background?: [number, number, number];
}

/** Width, height, frames and duration of an image (ffmpeg's output), read by libvips in a thread. */
export interface ImageInfoTask {
  kind: 'image-info';
  data: Uint8Array;
}

/** Load the pool's renderer, to learn at start-up whether it can run here (lottie-web needs node-canvas). */
export interface CheckRendererTask {
  kind: 'check-renderer';
}

export type CheckRendererResult = { ok: true } | { ok: false; detail: string };

export type ImageInfoResult = { ok: true; width: number; height: number; frames: number; durationMs?: number } | { ok: false; detail: string };

export type EncodeResult =
  | { ok: true; data: Uint8Array; width: number; height: number; frames: number; durationMs?: number; /** An image with one frame, written as a still. */ still?: boolean }
  | {
      ok: false;
      detail: string;
      /** The thread's renderer may be broken: replace the thread. */ recycle?: boolean;
      threadId?: number;
      /** The request asked for something this file does not have (a frame past its last): a 400. */
      badParameter?: { name: string; expected: string };
      /** More frames or pixels than a thread holds (MAX_FRAMES, MAX_ANIMATION_PIXELS): a smaller size or frame rate may do. */
      tooLarge?: boolean;
    };

export type PoolTask = DecodeTgsTask | RenderPngTask | ImageTask | RenderAnimTask | ImageInfoTask | CheckRendererTask | GridTask;

import { createHash } from 'node:crypto';
import type { InputFormat } from '../formats.js';
import type { PresetFit } from './presets.js';

/** What decoding a TGS learnt about its animation. */
export interface LottieInfo {
  width: number;
  height: number;
  frameRate: number;
  inPoint: number;
  outPoint: number;
  frames: number;
  layers: number;
  jsonBytes: number;
}

export type OutputFormat = 'lottie' | 'mp4' | 'apng' | InputFormat;

/** One cached sticker: its representations and the metadata its response headers are made from. */
export interface StickerEntry {
  readonly fileUniqueId: string;
  readonly original: InputFormat;
  readonly output: OutputFormat;
  readonly contentType: string;
  readonly isConverted: boolean;
  readonly conversionMs: number;
  /** Opaque validator of the content; the gzip representation's ETag gets a suffix. */
  readonly etag: string;
  readonly etagGzip: string;
  /** For TGS: the validated gzip bytes, served as Content-Encoding: gzip. */
  readonly gzip?: Buffer;
  /** The identity representation: passthrough bytes, or (for TGS, made on demand) the Lottie JSON. */
  readonly plain?: Buffer;
  readonly info?: LottieInfo;
  /** For converted images: what was produced. */
  readonly outputDims?: { width: number; height: number; frames: number; durationMs?: number };
  /** For a preset's result: what it traded to fit. */
  readonly preset?: PresetFit;
  readonly bytes: number;
}

export function makeEntry(e: Omit<StickerEntry, 'bytes' | 'etag' | 'etagGzip'> & { etag?: string }): StickerEntry {
  const content = e.gzip ?? e.plain!;
  const etag = e.etag ?? `"${createHash('sha1').update(content).digest('base64url')}"`;
  // The gzip representation is a different byte sequence, so it needs its own strong validator.
  const etagGzip = `${etag.slice(0, -1)}-gz"`;
  // The small fixed part approximates the metadata and the map's own overhead per entry.
  return { ...e, etag, etagGzip, bytes: 512 + (e.gzip?.length ?? 0) + (e.plain?.length ?? 0) };
}

import { errors } from '../errors.js';
import { contentTypes, detectFormat, looksLikeJson } from '../formats.js';
import { makeEntry, type StickerEntry } from '../model/entry.js';
import type { ConvertSpec } from '../model/variant.js';
import type { ThreadPool } from './pool.js';
import { VideoConverter } from './video.js';
import { fixApngFrameCount, readApng } from './png-chunks.js';
import { fitPreset } from './fit-preset.js';

/**
 * The conversion engine, shared by the sticker route, POST /convert and the CLI: file bytes to a stored
 * entry (format detected, TGS validated), and a stored entry to any output variant. All work is in the pool.
 */
export class Converter {
  constructor(
    private readonly pool: ThreadPool,
    private readonly video: VideoConverter = new VideoConverter(),
  ) {}

  /**
   * The sticker as stored: a TGS (or a plain Lottie JSON, stored as a TGS) decoded, validated and cleaned;
   * anything else as it is. Throws 422 for unknown bytes.
   */
  async stored(data: Buffer, fileUniqueId: string, wantJson: boolean, signal?: AbortSignal): Promise<StickerEntry> {
    const format = detectFormat(data) ?? (looksLikeJson(data) ? 'json' : undefined);
    if (format === undefined) throw errors.unsupportedFormat('not a TGS, Lottie JSON, WebP, WebM, PNG, JPEG or GIF file');
    if (format !== 'tgs' && format !== 'json') {
      return makeEntry({ fileUniqueId, original: format, output: format, contentType: contentTypes[format], isConverted: false, conversionMs: 0, plain: data });
    }
    const started = performance.now();
    const decoded = await this.pool.decodeTgs(data, { wantJson, plainJson: format === 'json' }, signal);
    return makeEntry({
      fileUniqueId,
      original: 'tgs',
      output: 'lottie',
      contentType: contentTypes.lottie,
      isConverted: true,
      conversionMs: performance.now() - started,
      gzip: decoded.gzip,
      plain: decoded.json,
      info: decoded.info,
    });
  }

  /** A stored TGS that lacks its JSON gets it (for clients that do not take gzip). */
  async withJson(entry: StickerEntry, signal?: AbortSignal): Promise<StickerEntry> {
    const decoded = await this.pool.decodeTgs(entry.gzip!, { wantJson: true }, signal);
    return makeEntry({ ...entry, plain: decoded.json });
  }

  /** Told of every conversion made: its output format and the time it took (ffmpeg's, for video). */
  onConverted: ((format: string, seconds: number, engine: 'pool' | 'ffmpeg') => void) | undefined;

  async convert(base: StickerEntry, spec: ConvertSpec, signal?: AbortSignal): Promise<StickerEntry> {
    const entry = await this.#convert(base, spec, signal);
    this.onConverted?.(entry.output, entry.conversionMs / 1000, spec.kind === 'video' && spec.format !== 'gif' ? 'ffmpeg' : 'pool');
    return entry;
  }

  async #convert(base: StickerEntry, spec: ConvertSpec, signal?: AbortSignal): Promise<StickerEntry> {
    const common = { fileUniqueId: base.fileUniqueId, original: base.original, isConverted: true };
    if (spec.kind === 'original') {
      return makeEntry({ ...common, output: 'tgs', contentType: contentTypes.tgs, isConverted: false, conversionMs: 0, plain: base.gzip, etag: `${base.etag.slice(0, -1)}-tgs"` });
    }
    if (spec.kind === 'preset') return fitPreset(this.pool, this.video.available ? this.video.path : undefined, base, spec.name, signal);
    if (spec.kind === 'video') {
      if (spec.format === 'gif' || (spec.format === 'apng' && spec.quality < 100)) {
        // GIF and palette APNG through the pool's encoders, from ffmpeg's frames: the GIF encoder's alpha
        // dithering keeps translucent pixels; ffmpeg has no shared-palette APNG.
        if (!this.video.available) throw errors.ffmpegMissing();
        const opts = { source: 'video' as const, format: spec.format, size: spec.size, fps: spec.fps, quality: spec.quality, background: spec.background, tint: spec.tint, gifAlpha: spec.gifAlpha, ffmpegPath: this.video.path };
        const r = await this.pool.convertImage(base.plain!, opts, signal);
        return makeEntry({ ...common, output: spec.format, contentType: contentTypes[spec.format], conversionMs: r.ms, plain: r.data, outputDims: { width: r.width, height: r.height, frames: r.frames, durationMs: r.durationMs } });
      }
      const v = await this.video.convert(base.plain!, { ...spec, format: spec.format }, signal);
      if (spec.format === 'apng') fixApngFrameCount(v.data);
      const dims = spec.format === 'mp4' ? undefined : spec.format === 'apng' ? apngDims(v.data) : await this.pool.imageInfo(v.data, signal);
      return makeEntry({ ...common, output: spec.format, contentType: contentTypes[spec.format], conversionMs: v.ms, plain: v.data, outputDims: dims });
    }
    const { background, tint } = spec;
    const animatedVideo = spec.kind === 'webm' || spec.kind === 'mp4';
    if (animatedVideo && !this.video.available) throw errors.ffmpegMissing();
    // Video outputs need ffmpeg, and so does reading an animated PNG's frames (libvips reads only its first).
    const ffmpegPath = this.video.available ? this.video.path : undefined;
    const gifAlpha = spec.kind === 'gif' ? spec.gifAlpha : undefined;
    const r =
      base.original !== 'tgs'
        ? await this.pool.convertImage(
            base.plain!,
            { size: spec.width || undefined, background, tint, format: spec.kind, frame: spec.kind === 'png' ? spec.frame : undefined, quality: spec.kind === 'png' ? undefined : spec.quality, fps: spec.kind === 'png' ? undefined : spec.fps || undefined, gifAlpha, ffmpegPath },
            signal,
          )
        : spec.kind === 'png'
          ? await this.pool.renderPng(base.gzip!, { width: spec.width, height: spec.height, frame: spec.frame, background, tint, cacheKey: base.etag }, signal)
          : await this.pool.renderAnimated(base.gzip!, { cacheKey: base.etag, format: spec.kind, width: spec.width, height: spec.height, fps: spec.fps, sourceFps: base.info!.frameRate, quality: spec.quality, background, tint, gifAlpha, ffmpegPath }, signal);
    // An APNG of an image with one frame is that frame's PNG.
    const output = r.still && spec.kind === 'apng' ? 'png' : spec.kind;
    return makeEntry({
      ...common,
      output,
      contentType: contentTypes[output],
      conversionMs: r.ms,
      plain: r.data,
      outputDims: { width: r.width, height: r.height, frames: r.frames, durationMs: r.durationMs },
    });
  }
}

/** libvips reads only an APNG's first frame, so its frame count and delays come from its chunks. */
function apngDims(data: Buffer): { width: number; height: number; frames: number; durationMs: number } {
  const a = readApng(data);
  return { width: a.width, height: a.height, frames: a.frames, durationMs: Math.round(a.delaysMs.reduce((x, y) => x + y, 0)) };
}

import { errors, type AppError } from '../errors.js';
import { contentTypes, detectFormat } from '../formats.js';
import { MAX_PRESET_ATTEMPTS } from '../limits.js';
import { makeEntry, type StickerEntry } from '../model/entry.js';
import { PRESETS, type PresetFit, type PresetName } from '../model/presets.js';
import { fitEdge } from '../model/variant.js';
import type { Encoded, ThreadPool } from './pool.js';

/** One try: what is traded so far. */
interface Attempt {
  quality: number;
  fps: number;
  size: number;
}

// The order of sacrifice: quality first (down to a floor below which artefacts dominate; for APNG,
// lossless first, then a palette), then frame rate, then size (only where the platform takes smaller ones).
const QUALITY_START = 80;
const QUALITY_FLOOR = 20;
const FPS_STEPS = [30, 24, 20, 15, 12, 10, 8, 6, 5];
const SIZE_STEPS = [1, 0.875, 0.75, 0.625, 0.5];

/**
 * A sticker made to fit a platform preset: the preset's format and size at the highest quality, frame
 * rate and size (in that order of sacrifice) whose result is within the byte limit, searched with a model
 * of how bytes follow quality, frames and pixels, at most MAX_PRESET_ATTEMPTS conversions. The result is
 * checked against every limit of the preset before it is returned; a source that cannot fit is a 422
 * naming the limit and by how much.
 */
export async function fitPreset(pool: ThreadPool, ffmpegPath: string | undefined, base: StickerEntry, name: PresetName, signal?: AbortSignal): Promise<StickerEntry> {
  const preset = PRESETS[name];
  const animated = await isAnimated(pool, base, signal);
  const target = animated ? preset.animated : preset.still;
  const format = target.format;
  if ((format === 'webm' || base.original === 'webm') && !ffmpegPath) throw errors.ffmpegMissing();
  const sourceFps = base.original === 'tgs' ? base.info!.frameRate : preset.animated.maxFps;
  if (animated && base.original === 'tgs') {
    const durationMs = (base.info!.frames / base.info!.frameRate) * 1000;
    if (durationMs > preset.animated.maxDurationMs + 1) throw unfit(name, 'duration', durationMs, preset.animated.maxDurationMs, 'ms');
  }
  // APNG is tried lossless (quality 100) first, then with a palette, lossy like the others.
  const lossy = format !== 'png';
  const top = format === 'apng' ? 100 : QUALITY_START;
  const fpsSteps = animated ? FPS_STEPS.filter((f) => f <= Math.min(preset.animated.maxFps, Math.round(sourceFps))) : [0];
  if (fpsSteps.length === 0) fpsSteps.push(Math.min(preset.animated.maxFps, Math.round(sourceFps)));
  const sizes = preset.sizeMayShrink ? SIZE_STEPS.map((k) => Math.round(preset.size * k)) : [preset.size];

  // Every candidate from best to worst in the order of sacrifice; the search tries the best one its
  // byte model predicts to fit, learns from each result, and moves on.
  const qualities = lossy ? [...(top > QUALITY_START ? [top] : []), ...range(QUALITY_START, QUALITY_FLOOR, 5)] : [0];
  const candidates: Attempt[] = sizes.flatMap((size) => fpsSteps.flatMap((fps) => qualities.map((quality) => ({ quality, fps, size }))));
  const model = new BytesModel(lossy);
  const tried = new Set<Attempt>();
  let attempts = 0;
  let smallest: { bytes: number; a: Attempt } | undefined;
  const square = preset.square ? preset.size : undefined;
  /** One conversion: remembered, learnt from, and returned only when it is within the byte limit. */
  let tooLarge: unknown;
  const attempt = async (a: Attempt): Promise<Encoded | undefined> => {
    tried.add(a);
    attempts++;
    let r: Encoded;
    try {
      r = await encode(pool, base, { format, ...a, square, ffmpegPath }, signal);
    } catch (err) {
      // More frames or pixels than a thread holds: no better candidate can fit; fewer or smaller ones may.
      if ((err as AppError).code !== errors.animationTooLarge.code) throw err;
      tooLarge = err;
      model.learn(a, Infinity);
      return undefined;
    }
    if (!smallest || r.data.length < smallest.bytes) smallest = { bytes: r.data.length, a };
    model.learn(a, r.data.length);
    return r.data.length <= target.maxBytes ? r : undefined;
  };
  const done = (r: Encoded, a: Attempt) => checked(name, base, r, a, format, animated, lossy, { quality: top, fps: fpsSteps[0], size: sizes[0] });
  while (attempts < MAX_PRESET_ATTEMPTS) {
    // The best (earliest) candidate predicted to fit, or the very first when nothing is known yet.
    // When none is, the cheapest untried one: a 422 rests on a measurement, not on the model.
    const open = candidates.filter((c) => !tried.has(c) && !model.ruledOut(c, target.maxBytes));
    const next = open.find((c) => model.predict(c) <= target.maxBytes) ?? open.at(-1);
    if (!next) break;
    const r = await attempt(next);
    if (r) return done(r, next);
    // Knowing the cost at the top quality, learn the floor's too: the curve between them guides the search.
    if (lossy && next.quality === QUALITY_START && !model.knows({ ...next, quality: QUALITY_FLOOR }) && attempts < MAX_PRESET_ATTEMPTS) {
      const floor = candidates.find((c) => c.size === next.size && c.fps === next.fps && c.quality === QUALITY_FLOOR)!;
      const f = await attempt(floor);
      if (f) {
        // The floor fits: the best quality between, by the curve, then the floor itself if that misses.
        const between = candidates.find((c) => c.size === next.size && c.fps === next.fps && !tried.has(c) && model.predict(c) <= target.maxBytes);
        const b = between && attempts < MAX_PRESET_ATTEMPTS ? await attempt(between) : undefined;
        return b ? done(b, between!) : done(f, floor);
      }
    }
  }
  if (!smallest && tooLarge) throw tooLarge;
  throw unfit(name, 'bytes', smallest?.bytes ?? 0, target.maxBytes, 'bytes', smallest && describe(smallest.a, lossy, animated));
}

const range = (from: number, to: number, step: number) => Array.from({ length: Math.floor((from - to) / step) + 1 }, (_, i) => from - i * step);

/**
 * Bytes of a candidate predicted from the results so far: proportional to frames (fps) and, less than
 * linearly, to pixels (size); between two measured qualities, geometric. The prediction is scaled by the
 * nearest measurement, so each result corrects the next guess. A candidate no better than one that already
 * missed in every respect (same or more quality, fps and size) cannot fit either.
 */
class BytesModel {
  readonly #seen: Array<{ a: Attempt; bytes: number }> = [];
  constructor(private readonly lossy: boolean) {}

  knows(a: Attempt): boolean {
    return this.#seen.some((s) => s.a.quality === a.quality && s.a.fps === a.fps && s.a.size === a.size);
  }

  learn(a: Attempt, bytes: number): void {
    this.#seen.push({ a, bytes });
  }

  ruledOut(c: Attempt, max: number): boolean {
    return this.#seen.some((s) => s.bytes > max && s.a.quality <= c.quality && s.a.fps <= c.fps && s.a.size <= c.size);
  }

  predict(c: Attempt): number {
    if (this.#seen.length === 0) return 0; // nothing known: try it
    // The measurement at the nearest fps and size, and the quality curve measured there (if two points).
    const near = [...this.#seen].sort((x, y) => distance(x.a, c) - distance(y.a, c))[0];
    const same = this.#seen.filter((s) => s.a.fps === near.a.fps && s.a.size === near.a.size).sort((x, y) => y.a.quality - x.a.quality);
    let bytes = near.bytes;
    if (this.lossy && same.length >= 2 && c.quality !== near.a.quality) {
      const [hi, lo] = [same[0], same[same.length - 1]];
      const perStep = Math.log(lo.bytes / hi.bytes) / (hi.a.quality - lo.a.quality || 1);
      bytes = hi.bytes * Math.exp(perStep * (hi.a.quality - c.quality));
    } else if (this.lossy && c.quality < near.a.quality) bytes *= 0.97 ** (near.a.quality - c.quality); // a guess until measured
    const frames = near.a.fps ? c.fps / near.a.fps : 1;
    const pixels = (c.size / near.a.size) ** 1.6;
    return bytes * frames * pixels;
  }
}

const distance = (a: Attempt, b: Attempt) => Math.abs(Math.log((a.fps || 1) / (b.fps || 1))) + Math.abs(Math.log(a.size / b.size)) * 2 + Math.abs(a.quality - b.quality) / 100;

async function isAnimated(pool: ThreadPool, base: StickerEntry, signal?: AbortSignal): Promise<boolean> {
  if (base.original === 'tgs' || base.original === 'webm') return true;
  if (base.original !== 'webp' && base.original !== 'gif') return false;
  return (await pool.imageInfo(base.plain!, signal)).frames > 1;
}

function encode(pool: ThreadPool, base: StickerEntry, o: { format: 'webm' | 'webp' | 'apng' | 'png'; quality: number; fps: number; size: number; square?: number; ffmpegPath?: string }, signal?: AbortSignal): Promise<Encoded> {
  if (base.original === 'tgs') {
    const info = base.info!;
    return pool.renderAnimated(base.gzip!, { cacheKey: base.etag, format: o.format as 'webm' | 'webp' | 'apng', ...fitEdge(info.width, info.height, o.size), fps: o.fps, sourceFps: info.frameRate, quality: o.quality, ffmpegPath: o.ffmpegPath, square: o.square, compact: true }, signal);
  }
  const video = base.original === 'webm';
  return pool.convertImage(base.plain!, { format: o.format, size: o.size, quality: o.quality, ffmpegPath: o.ffmpegPath, square: o.square, fps: o.fps || undefined, compact: true, ...(video && { source: 'video' as const }) }, signal);
}

/** The result against every limit of the preset (what the search did is checked, not assumed). */
function checked(name: PresetName, base: StickerEntry, r: Encoded, a: Attempt, format: 'webm' | 'webp' | 'apng' | 'png', animated: boolean, lossy: boolean, best: Attempt): StickerEntry {
  const preset = PRESETS[name];
  const target = animated ? preset.animated : preset.still;
  const fail = (what: string) => {
    throw errors.unrenderable(`the ${name} preset's result failed its own check (${what}); please report this sticker`);
  };
  if (r.data.length > target.maxBytes) fail(`${r.data.length} bytes`);
  if (preset.square ? r.width !== preset.size || r.height !== preset.size : Math.max(r.width, r.height) !== a.size) fail(`${r.width}x${r.height}`);
  if (animated && (r.durationMs ?? 0) > preset.animated.maxDurationMs + 1) throw unfit(name, 'duration', r.durationMs!, preset.animated.maxDurationMs, 'ms');
  if (!hasFormat(r.data, format, animated)) fail(`not ${format}`);
  const reduced = (lossy && a.quality < best.quality) || (a.fps !== 0 && a.fps < best.fps) || a.size < best.size;
  const output = format === 'apng' && (r.still || !animated) ? 'png' : format;
  const fit: PresetFit = { name, fit: reduced ? 'reduced' : 'exact', size: a.size, ...(lossy && { quality: a.quality }), ...(animated && a.fps !== 0 && { fps: a.fps }) };
  return makeEntry({
    fileUniqueId: base.fileUniqueId,
    original: base.original,
    isConverted: true,
    output,
    contentType: contentTypes[output],
    conversionMs: r.ms,
    plain: r.data,
    outputDims: { width: r.width, height: r.height, frames: r.frames, durationMs: r.durationMs },
    preset: fit,
  });
}

/** The container and codec by their bytes: WebM with VP9, WebP, PNG (APNG with its animation chunk). */
function hasFormat(b: Buffer, format: 'webm' | 'webp' | 'apng' | 'png', animated: boolean): boolean {
  const head = b.subarray(0, 4096).toString('latin1');
  const container = detectFormat(b);
  switch (format) {
    case 'webm':
      return container === 'webm' && head.includes('webm') && head.includes('V_VP9');
    case 'webp':
      return container === 'webp' && (!animated || head.includes('ANIM'));
    default:
      return container === 'png' && (!animated || head.includes('acTL'));
  }
}

function describe(a: Attempt, lossy: boolean, animated: boolean): string {
  return [lossy && `quality ${a.quality}`, animated && a.fps && `${a.fps} fps`, `${a.size} px`].filter(Boolean).join(', ');
}

function unfit(name: PresetName, limit: 'bytes' | 'duration', got: number, max: number, unit: string, tried?: string) {
  const over = Math.round(got - max);
  return errors.presetUnfit(name, `${limit === 'bytes' ? `the smallest result${tried ? ` (${tried})` : ''} is ${Math.round(got)} bytes` : `the animation lasts ${Math.round(got)} ms`}; the limit is ${max} ${unit}, ${over} ${unit} over`);
}

import { ConfigError, type CustomPresets } from '../config.js';
import { errors } from '../errors.js';
import { acceptedNames } from '../accept.js';
import type { StickerEntry } from '../model/entry.js';
import { fitEdge, type GifAlpha, type VariantSpec } from '../model/variant.js';
import { PRESET_NAMES, type PresetName } from '../model/presets.js';

/** Output formats this build can produce; the list grows with the encoders. */
export const OUTPUT_FORMATS = ['original', 'lottie', 'png', 'webp', 'gif', 'apng', 'webm', 'mp4', 'auto'] as const;
export type RequestedFormat = (typeof OUTPUT_FORMATS)[number];

export interface VariantQuery {
  format?: RequestedFormat;
  size?: number;
  frame?: number;
  fps?: number;
  quality?: number;
  background?: string;
  gif_alpha?: GifAlpha;
  tint?: string;
  preset?: PresetName;
}

/** A background as a query gives it: "transparent" or a hex colour, with or without #. */
export const BACKGROUND = /^(transparent|#?[0-9a-fA-F]{6}|#?[0-9a-fA-F]{3})$/;

let schemas: { maxOutputSize: number; schema: ReturnType<typeof buildSchema> } | undefined;

/** The query schema, built once (building it costs more than using it). */
function querySchema(maxOutputSize: number) {
  if (schemas?.maxOutputSize !== maxOutputSize) schemas = { maxOutputSize, schema: buildSchema(maxOutputSize) };
  return schemas.schema;
}

// zod loads with the first query to check: a worker that serves stickers as they are never pays for it.
// Each description is what a 400 says is allowed, and what the OpenAPI document says (docs/openapi.ts).
function buildSchema(maxOutputSize: number) {
  const { z } = require('zod') as typeof import('zod');
  // Plain decimal integers only: no 1e3, 0x100, +128, 128.0 or leading zeros.
  const integer = (min: number, max: number) =>
    z
      .string()
      .regex(/^(0|[1-9][0-9]{0,8})$/)
      .transform(Number)
      .pipe(z.number().min(min).max(max));
  return z.object({
    format: z
      .enum(OUTPUT_FORMATS)
      .optional()
      .describe(`one of ${OUTPUT_FORMATS.join(', ')}`),
    size: integer(16, maxOutputSize).optional().describe(`a decimal integer from 16 to ${maxOutputSize}`),
    frame: integer(0, 100_000).optional().describe('a decimal integer from 0 to 100000 (counted from the animation in-point)'),
    fps: integer(1, 240).optional().describe('a decimal integer from 1 to 240 (never above the source frame rate)'),
    quality: integer(1, 100).optional().describe('a decimal integer from 1 to 100'),
    background: z
      .string()
      .regex(BACKGROUND)
      .optional()
      .describe('"transparent" or a hex colour such as ffffff or #fff'),
    gif_alpha: z.enum(['dither', 'threshold']).optional().describe('dither (default) or threshold'),
    tint: z
      .string()
      .regex(/^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$/)
      .optional()
      .describe('a hex colour such as 1f2937: every pixel takes it, keeping its alpha (how Telegram paints needs_repainting emoji)'),
    preset: z
      .enum(PRESET_NAMES as [PresetName, ...PresetName[]])
      .optional()
      .describe(`one of ${PRESET_NAMES.join(', ')}`),
  });
}

/** The query parameters as JSON Schema (what a client may send), for the API document. */
export function variantQueryJsonSchema(maxOutputSize: number): { properties: Record<string, Record<string, unknown>> } {
  const { z } = require('zod') as typeof import('zod');
  return z.toJSONSchema(querySchema(maxOutputSize), { io: 'input' }) as { properties: Record<string, Record<string, unknown>> };
}

/**
 * A request's query, validated. Unknown parameters are ignored (clients add cache busters), but none may be
 * repeated or use array syntax (`format[]=png` would otherwise be silently dropped).
 */
export function parseVariantQuery(query: unknown, maxOutputSize: number): VariantQuery {
  for (const [name, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(value)) throw errors.badParameter(name, 'given more than once; give it once');
    if (name.includes('[')) throw errors.badParameter(name, 'array syntax is not accepted; give each parameter once, by its plain name');
  }
  const schema = querySchema(maxOutputSize);
  const parsed = schema.safeParse(query ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = String(issue.path[0]);
  const field = schema.shape[name as keyof typeof schema.shape] as { description?: string } | undefined;
  throw errors.badParameter(name, field?.description ?? issue.message);
}

/**
 * format=auto: the best output the client's Accept header names explicitly (q > 0), for what this sticker
 * is; a client that names none of them gets the default (Lottie for TGS, the file as it is otherwise).
 */
export function chooseFormat(accept: string | undefined, original: StickerEntry['original']): RequestedFormat | undefined {
  const names = acceptedNames(accept);
  const preference: Array<[string, RequestedFormat]> =
    original === 'webm'
      ? [['video/webm', 'original'], ['video/mp4', 'mp4'], ['image/webp', 'webp'], ['image/apng', 'apng'], ['image/gif', 'gif'], ['image/png', 'png']]
      : original === 'tgs'
        ? [['application/json', 'lottie'], ['image/webp', 'webp'], ['image/apng', 'apng'], ['image/gif', 'gif'], ['image/png', 'png']]
        : [[`image/${original}`, 'original'], ['image/webp', 'webp'], ['image/png', 'png'], ['image/gif', 'gif']];
  return preference.find(([type]) => names.get(type) === true)?.[1];
}

/** The query with format=auto replaced by what chooseFormat picks (PNG when image options need an image). */
export function withAutoFormat(q: VariantQuery, accept: string | undefined, original: StickerEntry['original']): VariantQuery {
  if (q.format !== 'auto') return q;
  return { ...q, format: chooseFormat(accept, original) ?? (outputOptions(q).length > 0 ? 'png' : undefined) };
}

export function resolveVariant(q: VariantQuery, base: StickerEntry, maxOutputSize: number): VariantSpec {
  if (q.preset !== undefined) {
    const other = [...(q.format !== undefined ? ['format'] : []), ...outputOptions(q)];
    if (other.length > 0) throw errors.impossibleFormat(`preset chooses the format, size, frame rate and quality; give it without ${other.join(', ')}`);
    return { kind: 'preset', name: q.preset };
  }
  const format = q.format === 'auto' ? undefined : q.format;
  const imageParams = outputOptions(q).length > 0;
  if (format === undefined || format === 'lottie') {
    if (format === 'lottie' && base.original !== 'tgs') {
      throw errors.impossibleFormat(`format=lottie needs an animated (TGS) sticker; this file is ${base.original}`);
    }
    if (imageParams) throw errors.impossibleFormat(IMAGE_ONLY);
    return { kind: 'as-stored' };
  }
  if (format === 'original') {
    if (imageParams) throw errors.impossibleFormat(IMAGE_ONLY);
    return base.original === 'tgs' ? { kind: 'original' } : { kind: 'as-stored' };
  }
  const background = parseColour(q.background);
  const tint = parseColour(q.tint);
  const gifAlpha: GifAlpha = q.gif_alpha ?? 'dither';
  if (q.gif_alpha !== undefined && format !== 'gif') throw errors.impossibleFormat('gif_alpha applies to format=gif');
  if (base.original === 'webm') {
    if (q.frame !== undefined) throw errors.impossibleFormat('frame applies to animated (TGS) stickers and animated images');
    if (format === 'webm') {
      if (imageParams) throw errors.impossibleFormat('a video sticker is served as it is in WebM; size, fps, quality, background and tint apply to the other formats');
      return { kind: 'as-stored' };
    }
    // Telegram's video stickers are at most 30 fps, so the source rate is kept unless a lower one is asked for.
    const fps = q.fps === undefined ? undefined : Math.min(q.fps, format === 'gif' ? GIF_MAX_FPS : 60);
    return { kind: 'video', format, size: q.size, fps, quality: q.quality ?? defaultQuality(format), background, ...(tint && { tint }), ...(format === 'gif' && { gifAlpha }) };
  }
  // H.264 has no alpha: MP4 is always composited, onto white unless another colour is asked for.
  const opaque = format === 'mp4' ? (background ?? WHITE) : background;
  if (format !== 'png') {
    if (q.frame !== undefined) throw errors.impossibleFormat(`frame applies to format=png; format=${format} is the whole animation`);
    if (base.original === 'tgs') {
      const info = base.info!;
      const { width, height } = fit(info.width, info.height, q.size, maxOutputSize);
      // Never above the source (more frames would repeat frames); GIF delays are 10 ms units, and
      // browsers slow down anything under 20 ms, so GIF stops at 50 fps.
      const source = Math.round(info.frameRate);
      const fps = Math.min(q.fps ?? source, source, format === 'gif' ? GIF_MAX_FPS : Infinity);
      return format === 'gif' ? { kind: 'gif', width, height, fps, quality: q.quality ?? 80, background, gifAlpha, ...(tint && { tint }) } : { kind: format, width, height, fps, quality: q.quality ?? defaultQuality(format), background: opaque, ...(tint && { tint }) };
    }
    if (base.original === format && outputOptions(q).length === 0) return { kind: 'as-stored' };
    // An image's frames (one for a still) keep their own timing, at most fps a second when asked; the
    // thread learns how many there are.
    const fps = q.fps === undefined ? 0 : Math.min(q.fps, format === 'gif' ? GIF_MAX_FPS : Infinity);
    const common = { width: q.size ?? 0, height: q.size ?? 0, fps, quality: q.quality ?? defaultQuality(format), ...(tint && { tint }) };
    return format === 'gif' ? { kind: 'gif', ...common, background, gifAlpha } : { kind: format, ...common, background: opaque };
  }
  if (q.fps !== undefined || q.quality !== undefined) throw errors.impossibleFormat('fps and quality apply to animated and lossy formats (webp, gif, apng, webm, mp4)');
  if (base.original === 'tgs') {
    const info = base.info!;
    const frame = q.frame ?? 0;
    if (frame >= info.frames) throw errors.badParameter('frame', `an integer from 0 to ${info.frames - 1} for this sticker`);
    return { kind: 'png', ...fit(info.width, info.height, q.size, maxOutputSize), frame, background, ...(tint && { tint }) };
  }
  // An animated image's frame count is known once it is decoded (in the pool): past its last is a 400 there.
  return { kind: 'png', width: q.size ?? 0, height: q.size ?? 0, frame: q.frame ?? 0, background, ...(tint && { tint }) };
}

const WHITE: [number, number, number] = [255, 255, 255];

/** The query parameters that shape a converted output (a stored sticker takes none of them). */
const SHAPING = ['size', 'frame', 'fps', 'quality', 'background', 'gif_alpha', 'tint'] as const;
const outputOptions = (q: VariantQuery) => SHAPING.filter((k) => q[k] !== undefined);

/** Every query parameter that chooses the output (what ONLY_PRESETS allows only `preset` of). */
export const OUTPUT_PARAMETERS = ['format', ...SHAPING, 'preset'] as const;

/** A request's query (or the CLI's options) as a VariantQuery, a custom preset's name replaced by its options first. */
export function parseRequestQuery(query: unknown, custom: CustomPresets, maxOutputSize: number): VariantQuery {
  return parseVariantQuery(expandCustomPreset((query ?? {}) as Record<string, unknown>, custom), maxOutputSize);
}

/** The query with a custom preset's name replaced by its options; like a platform preset, it is given alone. */
export function expandCustomPreset(query: Record<string, unknown>, custom: CustomPresets): Record<string, unknown> {
  const name = query.preset;
  if (typeof name !== 'string' || !Object.hasOwn(custom, name)) return query;
  const other = OUTPUT_PARAMETERS.filter((p) => p !== 'preset' && query[p] !== undefined);
  if (other.length > 0) throw errors.impossibleFormat(`preset ${name} chooses the output; give it without ${other.join(', ')}`);
  const { preset: _named, ...rest } = query;
  return { ...rest, ...custom[name] };
}

/**
 * The operator's presets checked as requests are: each name not a platform preset's, each query made of
 * output options a request could give. Throws a ConfigError naming what is wrong (at start).
 */
export function checkCustomPresets(custom: CustomPresets, maxOutputSize: number): void {
  for (const [name, options] of Object.entries(custom)) {
    const fail = (why: string) => {
      throw new ConfigError(`Invalid configuration: CUSTOM_PRESETS: preset ${name}: ${why}`);
    };
    if ((PRESET_NAMES as readonly string[]).includes(name)) fail('the name is a platform preset\'s');
    const unknown = Object.keys(options).filter((k) => !(OUTPUT_PARAMETERS as readonly string[]).includes(k));
    if (unknown.length > 0 || Object.keys(options).length === 0) fail(`give output options (${OUTPUT_PARAMETERS.join(', ')})${unknown.length ? `, not ${unknown.join(', ')}` : ''}`);
    try {
      parseVariantQuery(options, maxOutputSize);
    } catch (err) {
      fail((err as Error).message);
    }
  }
}

const GIF_MAX_FPS = 50;

/** APNG is lossless (RGBA) unless a quality under 100 asks for a palette; the lossy formats start at 80. */
const defaultQuality = (format: string) => (format === 'apng' ? 100 : 80);

const IMAGE_ONLY = 'size, frame, fps, quality, background, gif_alpha and tint apply to converted formats (format=png, webp, gif, apng, webm, mp4)';

/** The longer edge becomes size (default: the animation's own, within the limit); the ratio is kept. */
function fit(w: number, h: number, size: number | undefined, max: number): { width: number; height: number } {
  return fitEdge(w, h, size ?? Math.min(Math.max(w, h), max));
}

/** "transparent", rrggbb or rgb (with or without #; already validated) as [r, g, b]; transparent is undefined. */
export function parseColour(bg: string | undefined): [number, number, number] | undefined {
  if (bg === undefined || bg === 'transparent') return undefined;
  let hex = bg.replace(/^#/, '');
  if (hex.length === 3) hex = [...hex].map((c) => c + c).join('');
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

import { errors } from '../errors.js';
import { validateFileId } from './service.js';
import { BACKGROUND as COLOUR, parseColour } from './variant.js';
import { failureOf, notReached, runBounded, type Failure } from './set-work.js';

// WebP's largest side.
const WEBP_MAX_SIDE = 16_383;
const MAX_COLUMNS = 64;

export interface GridOptions {
  /** Each cell's side; a sticker's first frame is fitted within it. */
  tile: number;
  /** Default: the square root of the count, rounded up. */
  columns: number | undefined;
  format: 'webp' | 'png';
  /** The colour behind the tiles; transparent when undefined. */
  background: [number, number, number] | undefined;
}

export interface GridLayout {
  columns: number;
  rows: number;
  width: number;
  height: number;
}

/** A set's grid: which stickers, besides the layout. */
export interface SetGridOptions extends GridOptions {
  /** The set's thumbnails rather than its stickers' first frames. */
  thumbnails: boolean;
  /** The first N stickers only. */
  maxStickers: number | undefined;
}

// image_type: the Python service's "thumb" is its other name for thumbnails.
const IMAGE_TYPES = ['main', 'thumbnail', 'thumb'] as const;
const IMAGE_TYPE_DOC = "main (each sticker's first frame) or thumbnail (the set's thumbnails; also thumb)";
// A cap, not a size: the set's own count, when lower, is what counts against MAX_GRID_STICKERS.
const MAX_STICKERS_CAP = 100_000;
const COLOUR_DOC = '"transparent" (the default) or a hex colour such as ffffff';

/** GET /sticker-sets/:name/grid's query, validated: 400 INVALID_PARAMETER naming what is wrong. */
export function parseGridQuery(query: unknown, maxTile: number): SetGridOptions {
  const { z } = require('zod') as typeof import('zod');
  const integer = (min: number, max: number) => z.string().regex(/^[1-9][0-9]{0,5}$/).transform(Number).pipe(z.number().min(min).max(max)).describe(`a decimal integer from ${min} to ${max}`);
  const schema = z.object({
    tile: integer(16, maxTile).default(128),
    columns: integer(1, MAX_COLUMNS).optional(),
    format: z.enum(['webp', 'png']).default('webp').describe('webp or png'),
    image_type: z.enum(IMAGE_TYPES).default('main').describe(IMAGE_TYPE_DOC),
    max_stickers: integer(1, MAX_STICKERS_CAP).optional(),
    background: z.string().regex(COLOUR).optional().describe(COLOUR_DOC),
  });
  // Other parameters (sig, cache busters) are left out by the schema.
  const parsed = schema.safeParse(query ?? {});
  if (!parsed.success) {
    const name = String(parsed.error.issues[0].path[0]);
    throw errors.badParameter(name, describe(schema.shape, name) ?? parsed.error.issues[0].message);
  }
  const q = parsed.data;
  return { tile: q.tile, columns: q.columns, format: q.format, background: parseColour(q.background), thumbnails: q.image_type !== 'main', maxStickers: q.max_stickers };
}

/** POST /stickers/combine-from-set's JSON body (the Python service's): the set by name or url, then the layout. */
export function parseCombineFromSetBody(body: unknown, maxTile: number): SetGridOptions & { name: string } {
  const { z } = require('zod') as typeof import('zod');
  const schema = z.object({
    name: z.string().optional().describe('the set name (or give url)'),
    url: z.string().optional().describe('a t.me/addstickers/ link (or give name)'),
    image_type: z.enum(IMAGE_TYPES).default('main').describe(IMAGE_TYPE_DOC),
    tile_size: bodyInteger(16, maxTile).default(128),
    columns: bodyInteger(1, MAX_COLUMNS).optional(),
    format: z.enum(['webp', 'png']).default('webp').describe('webp or png'),
    max_stickers: bodyInteger(1, MAX_STICKERS_CAP).optional(),
    background: z.string().regex(COLOUR).optional().describe(COLOUR_DOC),
  });
  const b = parseBody(schema, body, '{"name": "Animals", "tile_size": 128}');
  const name = b.name ?? b.url;
  if (!name) throw errors.badBody('name', 'give the set as name (or as url, a t.me/addstickers/ link)');
  return { name, tile: b.tile_size, columns: b.columns, format: b.format, background: parseColour(b.background), thumbnails: b.image_type !== 'main', maxStickers: b.max_stickers };
}

/** POST /stickers/combine's JSON body, validated: 400 INVALID_BODY naming the field. */
export function parseCombineBody(body: unknown, maxTile: number, maxStickers: number): GridOptions & { fileIds: string[] } {
  const { z } = require('zod') as typeof import('zod');
  const schema = z.object({
    file_ids: z
      .array(z.string())
      .min(1)
      .max(maxStickers)
      .describe(`an array of 1 to ${maxStickers} file ids (MAX_GRID_STICKERS)`),
    tile_size: bodyInteger(16, maxTile).default(128),
    columns: bodyInteger(1, MAX_COLUMNS).optional(),
    format: z.enum(['webp', 'png']).default('webp').describe('webp or png'),
    background: z.string().regex(COLOUR).optional().describe(COLOUR_DOC),
  });
  const b = parseBody(schema, body, '{"file_ids": [...], "tile_size": 128}');
  for (const id of b.file_ids) validateFileId(id);
  return { fileIds: b.file_ids, tile: b.tile_size, columns: b.columns, format: b.format, background: parseColour(b.background) };
}

function bodyInteger(min: number, max: number) {
  const { z } = require('zod') as typeof import('zod');
  return z.number().int().min(min).max(max).describe(`an integer from ${min} to ${max}`);
}

/** A JSON body parsed by its schema; 400 INVALID_BODY naming the first field that is wrong. */
function parseBody<S extends import('zod').ZodObject>(schema: S, body: unknown, example: string): import('zod').infer<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const name = String(parsed.error.issues[0].path[0] ?? 'body');
  throw errors.badBody(name, describe(schema.shape, name) ?? `a JSON object such as ${example}`);
}

const describe = (shape: Record<string, unknown>, name: string) => (shape[name] as { description?: string } | undefined)?.description;

/** Where `count` tiles go; 422 GRID_TOO_LARGE beyond MAX_GRID_PIXELS (or WebP's 16383-pixel side). */
export function gridLayout(count: number, o: GridOptions, maxPixels: number): GridLayout {
  const columns = Math.max(1, Math.min(count, o.columns ?? Math.ceil(Math.sqrt(count))));
  const rows = Math.max(1, Math.ceil(count / columns));
  const width = columns * o.tile;
  const height = rows * o.tile;
  if (width * height > maxPixels) throw errors.gridTooLarge(`${count} tiles of ${o.tile} px make ${width}x${height}, more than ${maxPixels} pixels (MAX_GRID_PIXELS); ask for a smaller tile or fewer stickers`);
  if (o.format === 'webp' && Math.max(width, height) > WEBP_MAX_SIDE) throw errors.gridTooLarge(`${width}x${height} is wider or taller than WebP's ${WEBP_MAX_SIDE} pixels; ask for more columns, a smaller tile or format=png`);
  return { columns, rows, width, height };
}

/**
 * Each sticker's tile through `tileOf` (the normal path: caches, Telegram, the engine), `concurrency` at a
 * time, until `stop` aborts; a sticker that fails leaves its cell empty and is listed. When every one
 * fails, the first failure is the answer.
 */
export async function collectTiles(
  fileIds: string[],
  tileOf: (fileId: string) => Promise<Buffer>,
  o: { concurrency: number; stop: AbortSignal; timeoutMs: number },
): Promise<{ tiles: Array<Buffer | undefined>; failed: Failure[] }> {
  const tiles: Array<Buffer | undefined> = new Array(fileIds.length).fill(undefined);
  const failed: Failure[] = [];
  let firstError: unknown;
  await runBounded(fileIds.length, o.concurrency, async (index) => {
    if (o.stop.aborted) return void failed.push(notReached(index, fileIds[index], o.stop, 'ARCHIVE_TIMEOUT_SEC'));
    try {
      tiles[index] = await tileOf(fileIds[index]);
    } catch (err) {
      firstError ??= err;
      failed.push(failureOf(index, fileIds[index], err));
    }
  });
  if (failed.length === fileIds.length) throw firstError ?? errors.timeout(o.timeoutMs);
  return { tiles, failed: failed.sort((a, b) => a.index - b.index) };
}

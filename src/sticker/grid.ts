import { errors } from '../errors.js';
import { validateFileId } from './service.js';
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
}

export interface GridLayout {
  columns: number;
  rows: number;
  width: number;
  height: number;
}

/** GET /sticker-sets/:name/grid's query, validated: 400 INVALID_PARAMETER naming what is wrong. */
export function parseGridQuery(query: unknown, maxTile: number, maxStickers: number): GridOptions & { thumbnails: boolean; maxStickers: number | undefined } {
  const { z } = require('zod') as typeof import('zod');
  const integer = (min: number, max: number) => z.string().regex(/^[1-9][0-9]{0,5}$/).transform(Number).pipe(z.number().min(min).max(max)).describe(`a decimal integer from ${min} to ${max}`);
  const schema = z.object({
    tile: integer(16, maxTile).default(128),
    columns: integer(1, MAX_COLUMNS).optional(),
    format: z.enum(['webp', 'png']).default('webp').describe('webp or png'),
    image_type: z.enum(['main', 'thumbnail']).default('main').describe("main (each sticker's first frame) or thumbnail (the set's thumbnails)"),
    max_stickers: integer(1, maxStickers).optional(),
  });
  const { sig: _sig, ...rest } = (query ?? {}) as Record<string, unknown>;
  const parsed = schema.safeParse(rest);
  if (!parsed.success) {
    const name = String(parsed.error.issues[0].path[0]);
    throw errors.badParameter(name, describe(schema.shape, name) ?? parsed.error.issues[0].message);
  }
  const q = parsed.data;
  return { tile: q.tile, columns: q.columns, format: q.format, thumbnails: q.image_type === 'thumbnail', maxStickers: q.max_stickers };
}

/** POST /stickers/combine's JSON body, validated: 400 INVALID_BODY naming the field. */
export function parseCombineBody(body: unknown, maxTile: number, maxStickers: number): GridOptions & { fileIds: string[] } {
  const { z } = require('zod') as typeof import('zod');
  const integer = (min: number, max: number) => z.number().int().min(min).max(max).describe(`an integer from ${min} to ${max}`);
  const schema = z.object({
    file_ids: z
      .array(z.string())
      .min(1)
      .max(maxStickers)
      .describe(`an array of 1 to ${maxStickers} file ids (MAX_GRID_STICKERS)`),
    tile_size: integer(16, maxTile).default(128),
    columns: integer(1, MAX_COLUMNS).optional(),
    format: z.enum(['webp', 'png']).default('webp').describe('webp or png'),
  });
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const name = String(parsed.error.issues[0].path[0] ?? 'body');
    throw errors.badBody(name, describe(schema.shape, name) ?? 'a JSON object {"file_ids": [...], "tile_size": 128}');
  }
  const b = parsed.data;
  for (const id of b.file_ids) validateFileId(id);
  return { fileIds: b.file_ids, tile: b.tile_size, columns: b.columns, format: b.format };
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

import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import { contentTypes } from '../formats.js';
import { collectTiles, gridLayout, parseCombineBody, parseCombineFromSetBody, parseGridQuery, type GridOptions, type SetGridOptions } from '../sticker/grid.js';
import { jobSignals, variantFor } from './many-stickers.js';
import { entryHeaders, send } from './respond.js';
import { makeEntry } from '../model/entry.js';
import type { Served } from '../sticker/service.js';
import { setName } from '../sticker/sets.js';

// WebP quality of a grid: a contact sheet, read at a glance.
const GRID_WEBP_QUALITY = 90;

/**
 * GET /sticker-sets/:name/grid and POST /stickers/combine: stickers' first frames (a PNG of each, fitted
 * within the tile, made and cached as any /stickers?format=png&size=<tile>) laid out in one WebP or PNG.
 * A sticker that fails leaves its cell empty and is named in X-Grid-Failed.
 */
export async function gridRoutes(app: FastifyInstance): Promise<void> {
  const { config, pool } = app;
  const { concurrency, timeoutMs } = config.archive;
  const { maxStickers, maxPixels } = config.grid;
  const maxTile = config.limits.maxOutputSize;

  const respondGrid = async (req: FastifyRequest, reply: FastifyReply, fileIds: string[], o: GridOptions, cacheControl: string) => {
    const started = performance.now();
    const layout = gridLayout(fileIds.length, o, maxPixels);
    reply.header('x-grid-columns', String(layout.columns));
    reply.header('x-tile-size', String(o.tile));
    const respond = (served: Served, control: string) =>
      send(reply, served, { headers: entryHeaders(served, control), etag: served.entry.etag, ifNoneMatch: req.headers['if-none-match'], fileId: '', started });
    // A whole grid is kept in the memory tier, under the stickers and the layout it shows.
    const key = `grid/${createHash('sha1').update(JSON.stringify([fileIds, o.tile, layout.columns, o.format, o.background])).digest('base64url')}`;
    const kept = app.memoryCache.get(key);
    if (kept) {
      reply.header('x-images-combined', String(fileIds.length)).header('x-images-failed', '0');
      return respond({ entry: kept, body: kept.plain!, gzip: false, cache: 'HIT' }, cacheControl);
    }
    const { left, stop } = jobSignals(reply, timeoutMs);
    const tile = variantFor(app, req, { format: 'png', size: o.tile });
    const tileOf = async (fileId: string) => (await tile(fileId)).body;
    const { tiles, failed } = await collectTiles(fileIds, tileOf, { concurrency, stop, timeoutMs });
    // Nobody to answer: nothing is composed.
    if (left.aborted) {
      const notReached = failed.filter((f) => f.code === 'NOT_REACHED').length;
      req.log.info({ stickers: fileIds.length, notReached }, 'grid abandoned: the client left');
      return;
    }
    const image = await pool.composeGrid(tiles, { tile: o.tile, columns: layout.columns, width: layout.width, height: layout.height, format: o.format, quality: GRID_WEBP_QUALITY, background: o.background }, left);
    const entry = makeEntry({
      fileUniqueId: 'grid',
      original: o.format,
      output: o.format,
      contentType: contentTypes[o.format],
      isConverted: true,
      conversionMs: image.ms,
      plain: image.data,
      outputDims: { width: image.width, height: image.height, frames: 1 },
    });
    // The Python service's counts, kept for its clients.
    reply.header('x-images-combined', String(fileIds.length - failed.length)).header('x-images-failed', String(failed.length));
    if (failed.length > 0) reply.header('x-grid-failed', failed.map((f) => `${f.index}:${f.code}`).join(','));
    // A grid with holes is not worth keeping: the next request may fill them.
    else app.memoryCache.set(key, entry);
    respond({ entry, body: image.data, gzip: false, cache: 'MISS' }, failed.length > 0 ? 'no-store' : cacheControl);
  };

  // POST /stickers/combine takes JSON only (Fastify would also hand it plain text): anything else is a 415.
  app.removeContentTypeParser('text/plain');

  /** A set's grid: its first stickers (max_stickers), or their thumbnails. */
  const respondSetGrid = async (req: FastifyRequest, reply: FastifyReply, given: string, q: SetGridOptions, cacheControl: string) => {
    const set = await app.sets.get(setName(given), performance.now());
    const chosen = set.stickers.slice(0, q.maxStickers ?? set.stickers.length);
    if (chosen.length > maxStickers) throw errors.gridTooLarge(`the set has ${chosen.length} stickers; a grid takes at most ${maxStickers} (MAX_GRID_STICKERS): ask for max_stickers=${maxStickers}`);
    if (chosen.length === 0) throw errors.gridTooLarge('the set has no stickers');
    reply.header('x-sticker-set-name', set.name).header('x-image-type', q.thumbnails ? 'thumbnail' : 'main');
    // Thumbnails: the set's own small images (no animation rendered), where it has them.
    const ids = chosen.map((s) => (q.thumbnails ? (s.thumbnailFileId ?? s.fileId) : s.fileId));
    return respondGrid(req, reply, ids, q, cacheControl);
  };

  const setCacheControl = `public, max-age=${Math.round(config.cache.setTtlMs / 1000)}`;
  app.get<{ Params: { name: string } }>('/sticker-sets/:name/grid', async (req, reply) => {
    const q = parseGridQuery(req.query, maxTile);
    return respondSetGrid(req, reply, req.params.name, q, setCacheControl);
  });

  // The Python service's route for the same grid, with its JSON body ({name or url, image_type, tile_size, max_stickers}).
  app.post('/stickers/combine-from-set', async (req, reply) => {
    const b = parseCombineFromSetBody(req.body, maxTile);
    return respondSetGrid(req, reply, b.name, b, 'no-store');
  });

  app.post('/stickers/combine', async (req, reply) => {
    const b = parseCombineBody(req.body, maxTile, maxStickers);
    return respondGrid(req, reply, b.fileIds, b, 'no-store');
  });
}

import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';
import { streamArchive } from '../sticker/archive.js';
import { jobSignals, variantFor } from './many-stickers.js';
import { setName } from '../sticker/sets.js';
import { parseRequestQuery } from '../sticker/variant.js';
import { signedUrl } from '../url-signing.js';

/**
 * GET /sticker-sets/:name/archive: the whole set as a ZIP, streamed as each sticker is made (sticker/archive.ts).
 * GET /sticker-sets/:name: a set's listing (getStickerSet), each sticker with ready-made URLs of this
 * service for it and its thumbnail, and the set's archive and grid (signed when URL signing is on, so a page
 * can use them as they are).
 */
export async function setRoutes(app: FastifyInstance): Promise<void> {
  const key = app.config.access.signingKeys?.[0];
  const signer = key ? Buffer.from(key) : undefined;
  const served = (path: string) => (signer ? signedUrl(signer, path) : path);
  const url = (fileId: string) => served(`/stickers/${fileId}`);
  const cacheControl = `public, max-age=${Math.round(app.config.cache.setTtlMs / 1000)}`;

  app.get<{ Params: { name: string } }>('/sticker-sets/:name', async (req, reply) => {
    const started = performance.now();
    const set = await app.sets.get(setName(req.params.name), started);
    reply.header('cache-control', cacheControl);
    return {
      name: set.name,
      title: set.title,
      sticker_type: set.stickerType,
      archive_url: served(`/sticker-sets/${set.name}/archive`),
      grid_url: served(`/sticker-sets/${set.name}/grid`),
      stickers: set.stickers.map((s, index) => ({
        index,
        file_id: s.fileId,
        file_unique_id: s.fileUniqueId,
        emoji: s.emoji ?? null,
        kind: s.kind,
        width: s.width,
        height: s.height,
        needs_repainting: s.needsRepainting,
        custom_emoji_id: s.customEmojiId ?? null,
        url: url(s.fileId),
        thumbnail_url: s.thumbnailFileId ? url(s.thumbnailFileId) : null,
      })),
    };
  });

  const { stickers, config } = app;
  const { maxStickers, timeoutMs, concurrency } = config.archive;
  const maxOutputSize = config.limits.maxOutputSize;
  app.get<{ Params: { name: string } }>('/sticker-sets/:name/archive', async (req, reply) => {
    const raw = (req.query ?? {}) as Record<string, unknown>;
    const { sig: _sig, ...options } = raw;
    const q = parseRequestQuery(options, config.customPresets, maxOutputSize);
    const plain = Object.values(q).every((v) => v === undefined);
    const set = await app.sets.get(setName(req.params.name), performance.now());
    if (set.stickers.length > maxStickers) throw errors.setTooLarge(set.stickers.length, maxStickers);
    // The archive stops starting stickers when the client leaves or ARCHIVE_TIMEOUT_SEC passes.
    const { stop } = jobSignals(reply, timeoutMs);
    const variant = variantFor(app, req, q);
    const member = async (fileId: string) => {
      const served = plain ? await stickers.fetch(fileId, false, performance.now()) : await variant(fileId);
      return { body: served.body, output: served.entry.output };
    };
    reply.header('content-type', 'application/zip');
    reply.header('content-disposition', `attachment; filename="${set.name}.zip"`);
    reply.header('cache-control', 'no-store');
    const onDone = (counts: { delivered: number; failed: number; stopped: boolean }) => req.log.info({ set: set.name, ...counts }, 'archive done');
    const onHold = (aheadBytes: number) => req.log.debug({ set: set.name, aheadBytes }, 'archive waits for its reader');
    return reply.send(streamArchive(set, member, { concurrency, stop, query: options, onDone, onHold }));
  });
}

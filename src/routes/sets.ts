import type { FastifyInstance } from 'fastify';
import { setName } from '../sticker/sets.js';
import { signedUrl } from '../url-signing.js';

/**
 * GET /sticker-sets/:name: a set's listing (getStickerSet), each sticker with ready-made URLs of this
 * service for it and its thumbnail (signed when URL signing is on, so a page can use them as they are).
 */
export async function setRoutes(app: FastifyInstance): Promise<void> {
  const key = app.config.access.signingKeys?.[0];
  const signer = key ? Buffer.from(key) : undefined;
  const url = (fileId: string) => (signer ? signedUrl(signer, `/stickers/${fileId}`) : `/stickers/${fileId}`);
  const cacheControl = `public, max-age=${Math.round(app.config.cache.setTtlMs / 1000)}`;

  app.get<{ Params: { name: string } }>('/sticker-sets/:name', async (req, reply) => {
    const started = performance.now();
    const set = await app.sets.get(setName(req.params.name), started);
    reply.header('cache-control', cacheControl);
    return {
      name: set.name,
      title: set.title,
      sticker_type: set.stickerType,
      stickers: set.stickers.map((s, index) => ({
        index,
        file_id: s.fileId,
        file_unique_id: s.fileUniqueId,
        emoji: s.emoji ?? null,
        kind: s.kind,
        width: s.width,
        height: s.height,
        needs_repainting: s.needsRepainting,
        url: url(s.fileId),
        thumbnail_url: s.thumbnailFileId ? url(s.thumbnailFileId) : null,
      })),
    };
  });
}

import type { FastifyInstance } from 'fastify';
import { validateCustomEmojiId } from '../sticker/custom-emoji.js';
import { serveVariant } from '../sticker/serve.js';
import { parseRequestQuery } from '../sticker/variant.js';
import { acceptsGzip, entryHeaders, send } from './respond.js';

/**
 * GET /custom-emoji/:id: a custom emoji by its id (getCustomEmojiStickers, batched with the other ids asked
 * for at the same moment), then served as /stickers serves its file, with the same query. `tint` applies
 * to emoji that Telegram repaints (needs_repainting) and is left out for the others, as a client would.
 */
export async function customEmojiRoutes(app: FastifyInstance): Promise<void> {
  const { stickers, config, customEmoji } = app;
  const cacheControl = `public, max-age=${config.cache.ttlSeconds}`;
  const maxOutputSize = config.limits.maxOutputSize;

  app.get<{ Params: { id: string } }>('/custom-emoji/:id', async (req, reply) => {
    const started = performance.now();
    validateCustomEmojiId(req.params.id);
    const { sig: _sig, ...options } = (req.query ?? {}) as Record<string, unknown>;
    const parsed = parseRequestQuery(options, config.customPresets, maxOutputSize);
    const emoji = await customEmoji.get(req.params.id);
    const q = emoji.needsRepainting ? parsed : { ...parsed, tint: undefined };
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    const limit = app.limitConversion;
    const { served, auto } = await serveVariant(stickers, emoji.fileId, q, { gzip, startedAt: started, accept: req.headers.accept, maxOutputSize, beforeConvert: limit && (() => limit(req)) });
    if (auto) reply.header('vary', 'Accept');
    reply.header('x-custom-emoji-id', req.params.id);
    reply.header('x-needs-repainting', String(emoji.needsRepainting));
    if (emoji.emoji) reply.header('x-emoji', encodeURIComponent(emoji.emoji));
    send(reply, served, { headers: entryHeaders(served, cacheControl), etag: served.gzip ? served.entry.etagGzip : served.entry.etag, ifNoneMatch: req.headers['if-none-match'], fileId: emoji.fileId, started });
  });
}

import type { FastifyInstance, FastifyReply } from 'fastify';
import { validateFileId, type Served } from '../sticker/service.js';
import { parseRequestQuery, type VariantQuery } from '../sticker/variant.js';
import { serveVariant } from '../sticker/serve.js';
import type { StickerEntry } from '../model/entry.js';
import { acceptsGzip, entryHeaders, send } from './respond.js';

export async function stickerRoutes(app: FastifyInstance): Promise<void> {
  const { stickers, config } = app;
  const cacheControl = `public, max-age=${config.cache.ttlSeconds}`;

  // Everything about a response that depends only on the entry is built once per entry, not per request.
  const fixed = new WeakMap<StickerEntry, { plain?: string[]; gzip?: string[] }>();
  const headersFor = (s: Served): string[] => {
    let h = fixed.get(s.entry);
    if (!h) fixed.set(s.entry, (h = {}));
    const key = s.gzip ? 'gzip' : 'plain';
    return (h[key] ??= entryHeaders(s, cacheControl));
  };

  const respond = (reply: FastifyReply, served: Served, fileId: string, started: number) =>
    send(reply, served, { headers: headersFor(served), etag: served.gzip ? served.entry.etagGzip : served.entry.etag, ifNoneMatch: reply.request.headers['if-none-match'], fileId, started });

  const fetchAndRespond = async (reply: FastifyReply, fileId: string, gzip: boolean, started: number) => {
    respond(reply, await stickers.fetch(fileId, gzip, started), fileId, started);
  };

  const maxOutput = config.limits.maxOutputSize;
  // Query strings repeat; each distinct one is validated once.
  const queries = new Map<string, VariantQuery>();
  const variantQuery = (url: string, query: unknown): VariantQuery | undefined => {
    const qs = url.slice(url.indexOf('?') + 1);
    let q = queries.get(qs);
    if (q === undefined) {
      q = parseRequestQuery(query, config.customPresets, maxOutput);
      if (queries.size >= 1000) queries.clear();
      queries.set(qs, q);
    }
    return Object.values(q).every((v) => v === undefined) ? undefined : q;
  };

  const variantAndRespond = async (reply: FastifyReply, fileId: string, gzip: boolean, query: VariantQuery, started: number) => {
    const limit = app.limitConversion;
    const { served, auto } = await serveVariant(stickers, fileId, query, {
      gzip,
      startedAt: started,
      accept: reply.request.headers.accept,
      maxOutputSize: maxOutput,
      beforeConvert: limit && (() => limit(reply.request)),
    });
    // format=auto: the answer depends on Accept, so shared caches must key on it.
    if (auto) reply.header('vary', 'Accept');
    respond(reply, served, fileId, started);
  };

  // Not async on purpose: a cache hit is answered synchronously, without a promise or a microtask.
  app.get<{ Params: { fileId: string } }>('/stickers/:fileId', (req, reply) => {
    const started = performance.now();
    const { fileId } = req.params;
    validateFileId(fileId);
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    const q = req.url.includes('?') ? variantQuery(req.url, req.query) : undefined;
    if (q !== undefined) return variantAndRespond(reply, fileId, gzip, q, started);
    const served = stickers.lookup(fileId, gzip);
    if (served === undefined) return fetchAndRespond(reply, fileId, gzip, started);
    respond(reply, served, fileId, started);
  });
}


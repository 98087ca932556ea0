import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Deadline } from '../deadline.js';
import { errors } from '../errors.js';
import { parseVariantQuery, resolveVariant, withAutoFormat } from '../sticker/variant.js';
import { acceptsGzip, entryHeaders, send } from './respond.js';

/**
 * POST /convert: the body is a sticker file (TGS, WebP, WebM, PNG, JPEG, GIF); the query is the same as for
 * GET /stickers. Needs no Telegram and no Redis; results are not cached (the next upload may differ).
 */
export async function convertRoutes(app: FastifyInstance): Promise<void> {
  const limit = app.config.limits.maxUploadBytes;
  if (limit === undefined) return; // UPLOAD_ENABLED=false
  const { converter } = app;
  const { maxOutputSize, endpointTimeoutMs } = app.config.limits;

  // Any content type: the format is read from the bytes, never from a header the client chose.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_req, body, done) => done(null, body));

  app.post('/convert', { bodyLimit: limit }, async (req, reply) => {
    const started = performance.now();
    const body = req.body;
    if (!Buffer.isBuffer(body) || body.length === 0) throw errors.emptyUpload();
    const q = parseVariantQuery(req.query, maxOutputSize);
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    const deadline = new Deadline(endpointTimeoutMs);
    try {
      const id = createHash('sha1').update(body).digest('base64url');
      let entry = await converter.stored(body, `upload-${id}`, !gzip, deadline.signal);
      if (q.format === 'auto') reply.header('vary', 'Accept');
      const spec = resolveVariant(withAutoFormat(q, req.headers.accept, entry.original), entry, maxOutputSize);
      if (spec.kind !== 'as-stored') entry = await converter.convert(entry, spec, deadline.signal);
      // Only the stored TGS has a gzip representation; a converted result is sent as it is.
      const asGzip = spec.kind === 'as-stored' && gzip && entry.gzip !== undefined;
      const served = { entry, body: asGzip ? entry.gzip! : entry.plain!, gzip: asGzip, cache: 'MISS' as const };
      send(reply, served, { headers: entryHeaders(served, 'no-store'), etag: served.gzip ? entry.etagGzip : entry.etag, ifNoneMatch: undefined, fileId: '', started });
    } finally {
      deadline.dispose();
    }
  });
}

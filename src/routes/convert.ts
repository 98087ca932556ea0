import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Deadline } from '../deadline.js';
import { errors } from '../errors.js';
import { parseRequestQuery, resolveVariant, withAutoFormat, type VariantQuery } from '../sticker/variant.js';
import { acceptsGzip, entryHeaders, send } from './respond.js';
import { readUpload, type Upload } from '../upload/read.js';

/**
 * POST /convert: the body is a sticker file (TGS, Lottie JSON, WebP, WebM, PNG, JPEG, GIF) or a multipart
 * form holding one; the query is the same as for GET /stickers. Needs no Telegram and no Redis; results are
 * not cached (the next upload may differ).
 */
export async function convertRoutes(app: FastifyInstance): Promise<void> {
  const limit = app.config.limits.maxUploadBytes;
  if (limit === undefined) return; // UPLOAD_ENABLED=false
  const { converter } = app;
  const { maxOutputSize, endpointTimeoutMs } = app.config.limits;

  const budget = app.uploads;
  const uploadLimits = { maxBytes: limit, ...app.config.upload };
  // Nothing parses a body on the serving thread (a large JSON body would block it for seconds): every
  // content type reaches the handler unread, and the format is read from the bytes in the pool.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  app.post('/convert', async (req, reply) => {
    const started = performance.now();
    let upload: Upload;
    let q: VariantQuery;
    try {
      // A bad query or an exhausted budget is refused before the body is read.
      q = parseRequestQuery(req.query, app.config.customPresets, maxOutputSize);
      await app.limitConversion?.(req);
      upload = await readUpload(req.raw, uploadLimits, budget);
    } catch (err) {
      reply.header('connection', 'close'); // the rest of the body is never read
      throw err;
    }
    if (reply.raw.closed) budget.release(upload.held);
    else reply.raw.once('close', () => budget.release(upload.held));
    const body = upload.data;
    if (body.length === 0) throw errors.emptyUpload();
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

import type { FastifyInstance, FastifyReply } from 'fastify';
import { validateFileId, type Served } from '../sticker/service.js';
import { parseVariantQuery, resolveVariant, type VariantQuery } from '../sticker/variant.js';
import type { StickerEntry } from '../sticker/entry.js';


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
    send(reply, served, headersFor(served), served.gzip ? served.entry.etagGzip : served.entry.etag, reply.request.headers['if-none-match'], fileId, started);

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
      q = parseVariantQuery(query, maxOutput);
      if (queries.size >= 1000) queries.clear();
      queries.set(qs, q);
    }
    return Object.values(q).every((v) => v === undefined) ? undefined : q;
  };

  const variantAndRespond = async (reply: FastifyReply, fileId: string, gzip: boolean, q: VariantQuery, started: number) => {
    // The stored sticker first (cache, Redis or Telegram): the variant is made from it.
    const base = await stickers.fetch(fileId, true, started);
    const spec = resolveVariant(q, base.entry, maxOutput);
    if (spec.kind === 'as-stored') {
      respond(reply, gzip ? base : await stickers.fetch(fileId, false, started), fileId, started);
      return;
    }
    respond(reply, await stickers.variant(fileId, base.entry, spec, started), fileId, started);
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

/**
 * Writes the response straight to the socket: the headers are a flat array prepared once per entry, which
 * skips Fastify's per-header bookkeeping and onSend pipeline on the hottest path. Headers that hooks set on
 * the reply (rate limits, say) are carried over.
 */
function send(reply: FastifyReply, s: Served, fixed: string[], etag: string, ifNoneMatch: string | undefined, fileId: string, started: number) {
  const headers = fixed.slice();
  headers.push('x-file-id', fileId, 'x-cache-status', s.cache);
  const extra = reply.getHeaders();
  for (const k in extra) headers.push(k, String(extra[k]));
  const res = reply.raw;
  reply.hijack();
  if (ifNoneMatch !== undefined && matches(ifNoneMatch, etag)) {
    headers.push('x-processing-time-ms', elapsed(started));
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers.push('content-length', String(s.body.length), 'x-processing-time-ms', elapsed(started));
  res.writeHead(200, headers);
  res.end(reply.request.method === 'HEAD' ? undefined : s.body);
}

function entryHeaders(s: Served, cacheControl: string): string[] {
  const e = s.entry;
  const h = [
    'content-type', e.contentType,
    'etag', s.gzip ? e.etagGzip : e.etag,
    'cache-control', cacheControl,
    'x-original-format', e.original,
    'x-output-format', e.output,
    'x-file-size', String(e.gzip?.length ?? e.plain!.length),
    'x-is-converted', String(e.isConverted),
    'x-conversion-time-ms', e.conversionMs.toFixed(2),
  ]; // prettier-ignore
  // Only TGS has two representations; caches must key them on Accept-Encoding.
  if (e.gzip) h.push('vary', 'Accept-Encoding');
  if (s.gzip) h.push('content-encoding', 'gzip');
  if (e.info && e.output === 'lottie') {
    h.push('x-lottie-frames', String(e.info.frames), 'x-lottie-frame-rate', String(e.info.frameRate));
    h.push('x-lottie-dimensions', `${e.info.width}x${e.info.height}`);
  }
  if (e.outputDims) {
    h.push('x-output-width', String(e.outputDims.width), 'x-output-height', String(e.outputDims.height), 'x-output-frames', String(e.outputDims.frames));
    if (e.outputDims.durationMs !== undefined) h.push('x-output-duration-ms', String(e.outputDims.durationMs));
  }
  return h;
}

const elapsed = (started: number) => (performance.now() - started).toFixed(2);

/** RFC 9110 If-None-Match: "*" or a list of entity tags, compared weakly. */
function matches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  for (const part of header.split(',')) {
    const tag = part.trim();
    if (tag === etag || tag === `W/${etag}`) return true;
  }
  return false;
}

// Accept-Encoding values repeat across requests; remember the answer for the few that occur.
const gzipMemo = new Map<string, boolean>();

/** True when the client accepts gzip (by name or "*") with a non-zero q-value. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  const memo = gzipMemo.get(header);
  if (memo !== undefined) return memo;
  let yes = false;
  let star: boolean | undefined;
  let named: boolean | undefined;
  for (const part of header.split(',')) {
    const [name, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const ok = q === undefined || Number(q.slice(2)) > 0;
    if (name === 'gzip' || name === 'x-gzip') named = ok;
    else if (name === '*') star = ok;
  }
  yes = named ?? star ?? false;
  if (gzipMemo.size < 256) gzipMemo.set(header, yes);
  return yes;
}

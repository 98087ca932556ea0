import type { FastifyReply } from 'fastify';
import type { Served } from '../sticker/service.js';
import { acceptedNames } from '../accept.js';

/** What send() writes besides the served bytes. */
export interface SendOptions {
  /** Flat [name, value, ...] headers made once per entry (entryHeaders). */
  headers: string[];
  /** The ETag of the representation sent, compared with the request's If-None-Match. */
  etag: string;
  ifNoneMatch: string | undefined;
  /** Sent as X-File-ID when not empty. */
  fileId: string;
  /** performance.now() when the request arrived, for X-Processing-Time-Ms. */
  started: number;
}

/**
 * Writes the response straight to the socket: the headers are a flat array prepared once per entry, which
 * skips Fastify's per-header bookkeeping and onSend pipeline on the hottest path. Headers that hooks set on
 * the reply (rate limits, say) are carried over.
 */
export function send(reply: FastifyReply, s: Served, { headers: fixed, etag, ifNoneMatch, fileId, started }: SendOptions) {
  const headers = fixed.slice();
  if (fileId) headers.push('x-file-id', fileId);
  headers.push('x-cache-status', s.cache, 'x-request-id', reply.request.id);
  // A stopping worker tells keep-alive clients to go elsewhere.
  if (reply.server.draining) headers.push('connection', 'close');
  reply.request.served = s;
  const extra = reply.getHeaders();
  for (const k in extra) {
    // Vary from a hook (CORS: Origin) joins the entry's own (Accept-Encoding) instead of replacing it.
    const at = k === 'vary' ? headers.indexOf('vary') : -1;
    if (at >= 0 && at % 2 === 0) headers[at + 1] = `${headers[at + 1]}, ${String(extra[k])}`;
    else headers.push(k, String(extra[k]));
  }
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

export function entryHeaders(s: Served, cacheControl: string): string[] {
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
  if (e.preset) {
    h.push('x-preset', e.preset.name, 'x-preset-fit', e.preset.fit, 'x-preset-size', String(e.preset.size));
    if (e.preset.quality !== undefined) h.push('x-preset-quality', String(e.preset.quality));
    if (e.preset.fps !== undefined) h.push('x-preset-fps', String(e.preset.fps));
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
  const names = acceptedNames(header);
  const yes = names.get('gzip') ?? names.get('x-gzip') ?? names.get('*') ?? false;
  if (gzipMemo.size < 256) gzipMemo.set(header, yes);
  return yes;
}

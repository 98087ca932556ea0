import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Served } from '../sticker/service.js';
import { serveVariant } from '../sticker/serve.js';
import type { VariantQuery } from '../sticker/variant.js';

/**
 * The signals of a job over many stickers (an archive, a grid): `left` aborts when the client goes away,
 * `stop` also when the job's own deadline (ARCHIVE_TIMEOUT_SEC) passes.
 */
export function jobSignals(reply: FastifyReply, timeoutMs: number): { left: AbortSignal; stop: AbortSignal } {
  const left = new AbortController();
  reply.raw.on('close', () => reply.raw.writableFinished || left.abort());
  return { left: left.signal, stop: AbortSignal.any([left.signal, AbortSignal.timeout(timeoutMs)]) };
}

/** Each sticker of such a job as the query asks for it, through the normal path and the request's conversion budget. */
export function variantFor(app: FastifyInstance, req: FastifyRequest, query: VariantQuery): (fileId: string) => Promise<Served> {
  const limit = app.limitConversion;
  const maxOutputSize = app.config.limits.maxOutputSize;
  return async (fileId) => {
    const o = { gzip: false, startedAt: performance.now(), accept: req.headers.accept, maxOutputSize, beforeConvert: limit && (() => limit(req)) };
    return (await serveVariant(app.stickers, fileId, query, o)).served;
  };
}

import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { errors } from './errors.js';

/** Response headers a browser script may read (CORS exposes none of them by default). */
const EXPOSED = [
  'etag', 'content-length', 'retry-after', 'x-request-id', 'x-file-id', 'x-cache-status', 'x-original-format', 'x-output-format',
  'x-file-size', 'x-is-converted', 'x-conversion-time-ms', 'x-processing-time-ms', 'x-lottie-frames', 'x-lottie-frame-rate',
  'x-lottie-dimensions', 'x-output-width', 'x-output-height', 'x-output-frames', 'x-output-duration-ms',
  'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-preset', 'x-preset-fit', 'x-preset-size', 'x-preset-quality',
  'x-preset-fps', 'x-grid-columns', 'x-grid-failed', 'x-tile-size', 'x-images-combined', 'x-images-failed', 'x-sticker-set-name', 'x-image-type', 'x-custom-emoji-id', 'x-needs-repainting', 'x-emoji',
]; // prettier-ignore

/**
 * CORS for CORS_ORIGINS: the public routes answer a request that carries Origin with the allow-origin and
 * expose headers, and preflights (OPTIONS) with the methods and headers they may use. Requests without
 * Origin (servers, <img> tags) get none of it: @fastify/cors added its two headers to every response,
 * which cost a quarter of the hit throughput (BENCHMARKS.md). The admin routes (the only DELETEs) never
 * allow a cross-origin caller: no headers on them, and DELETE is not a method a preflight allows.
 */
export async function allowCrossOrigin(app: FastifyInstance, config: Config): Promise<void> {
  const any = config.corsOrigins === '*';
  const allowed = new Set(any ? [] : config.corsOrigins);
  const exposed = EXPOSED.join(', ');
  /** The Access-Control-Allow-Origin value for a request's Origin; undefined when it is not allowed. */
  const allowOrigin = (origin: string | undefined) => (origin === undefined ? undefined : any ? '*' : allowed.has(origin) ? origin : undefined);
  app.addHook('onRequest', (req, reply, done) => {
    // With a list, the answer depends on Origin: caches must key on it even for requests without one.
    if (!any) reply.header('vary', 'Origin');
    const allow = req.method === 'DELETE' ? undefined : allowOrigin(req.headers.origin);
    if (allow !== undefined) {
      reply.header('access-control-allow-origin', allow);
      reply.header('access-control-expose-headers', exposed);
    }
    done();
  });
  // A preflight: the hook above has answered the origin; this adds what the page may send.
  app.options('*', (req, reply) => {
    if (reply.hasHeader('access-control-allow-origin')) {
      reply.header('access-control-allow-methods', 'GET, HEAD, POST');
      const asked = req.headers['access-control-request-headers'];
      if (asked) reply.header('access-control-allow-headers', asked);
      reply.header('access-control-max-age', '600');
    }
    void reply.code(204).send();
  });
}

/**
 * Overload shedding (@fastify/under-pressure): a worker whose event loop lags past
 * OVERLOAD_MAX_EVENT_LOOP_DELAY_MS, or whose heap passes OVERLOAD_MAX_HEAP_MB, answers 503 OVERLOADED with
 * Retry-After at once instead of queueing requests it would time out. /health keeps answering.
 */
export async function shedOverload(app: FastifyInstance, config: Config): Promise<void> {
  const { maxEventLoopDelayMs, maxHeapBytes } = config.overload;
  if (maxEventLoopDelayMs === 0 && maxHeapBytes === 0) return;
  const underPressure = (require('@fastify/under-pressure') as typeof import('@fastify/under-pressure')).default;
  await app.register(underPressure, {
    maxEventLoopDelay: maxEventLoopDelayMs,
    maxHeapUsedBytes: maxHeapBytes,
    exposeStatusRoute: false,
    // A rejection goes to the error handler (503 OVERLOADED, Retry-After); nothing means carry on.
    pressureHandler: (req, _reply, type, value) =>
      req.url.startsWith('/health') ? undefined : Promise.reject(errors.overloaded(`${type === 'eventLoopDelay' ? 'event loop delay' : type} at ${Math.round(value ?? 0)}`)),
  });
}

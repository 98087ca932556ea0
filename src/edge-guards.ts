import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { errors } from './errors.js';

/** Response headers a browser script may read (CORS exposes none of them by default). */
const EXPOSED = [
  'etag', 'content-length', 'retry-after', 'x-request-id', 'x-file-id', 'x-cache-status', 'x-original-format', 'x-output-format',
  'x-file-size', 'x-is-converted', 'x-conversion-time-ms', 'x-processing-time-ms', 'x-lottie-frames', 'x-lottie-frame-rate',
  'x-lottie-dimensions', 'x-output-width', 'x-output-height', 'x-output-frames', 'x-output-duration-ms',
  'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset',
]; // prettier-ignore

/**
 * CORS (@fastify/cors): the public routes for CORS_ORIGINS, preflight answered, every X-* header readable;
 * the admin routes (DELETE /cache/...) never allow a cross-origin caller.
 */
export async function allowCrossOrigin(app: FastifyInstance, config: Config): Promise<void> {
  const cors = (require('@fastify/cors') as typeof import('@fastify/cors')).default;
  const open = { origin: config.corsOrigins === '*' ? '*' : [...config.corsOrigins], methods: ['GET', 'HEAD', 'POST'], exposedHeaders: EXPOSED, maxAge: 600 };
  // Static options (the admin routes opt out with `config: { cors: false }`, and their method is not among
  // those a preflight allows): with '*', responses need no Vary: Origin and shared caches keep one copy.
  await app.register(cors, open);
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

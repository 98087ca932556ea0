import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Parts } from './parts.js';
import type { StatsCollector } from './stats.js';
import type { Served } from './sticker/service.js';
import { registerMetrics, type MetricsText } from './metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What a sticker response sent (set by send()), for the access log. */
    served: Served | null;
  }
}

/** A client's X-Request-Id is kept when it is this plain; anything else gets an id of ours. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * What operators see: the request id on every response, one access-log line per request (ACCESS_LOG), and
 * the Prometheus metrics (METRICS_ENABLED); returns how to make /metrics' text, or undefined when off.
 */
export function observe(app: FastifyInstance, config: Config, parts: Parts, stats: StatsCollector): MetricsText | undefined {
  app.decorateRequest('served', null);
  // Sticker responses are written by send(), which adds it itself; this covers every other response.
  app.addHook('onSend', (req, reply, payload, done) => {
    reply.header('x-request-id', req.id);
    if (app.draining) reply.header('connection', 'close');
    done(null, payload);
  });
  if (config.accessLog) {
    app.addHook('onResponse', (req, reply, done) => {
      const s = req.served;
      req.log.info(
        {
          method: req.method,
          route: req.routeOptions.url ?? 'unmatched',
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
          ...(s && { cache: s.cache, format: s.entry.output, bytes: s.body.length }),
        },
        'request',
      );
      done();
    });
  }
  return config.metrics.enabled ? registerMetrics(app, parts, stats) : undefined;
}

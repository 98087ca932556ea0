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
  const metrics = config.metrics.enabled ? registerMetrics(parts, stats) : undefined;
  // The root logger with reqId as a field: req.log would build a child logger for every request.
  const log = config.accessLog ? app.log : undefined;
  if (metrics || log) {
    // One hook for both, reading the route once (Fastify builds routeOptions anew on each access).
    app.addHook('onResponse', (req, reply, done) => {
      const route = req.routeOptions.url ?? 'unmatched';
      metrics?.request(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
      if (log) {
        const s = req.served;
        log.info(
          {
            reqId: req.id,
            method: req.method,
            route,
            status: reply.statusCode,
            ms: Math.round(reply.elapsedTime * 100) / 100,
            ...(s && { cache: s.cache, format: s.entry.output, bytes: s.body.length }),
          },
          'request',
        );
      }
      done();
    });
  }
  return metrics?.text;
}

import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createLogger } from './logger.js';
import type { StatsCollector } from './stats.js';
import type { Bus } from './model/events.js';
import { SHUTDOWN_DRAIN_MS } from './limits.js';
import type { MetricsText } from './metrics.js';

/** METRICS_PORT: /metrics alone on a port of its own (every worker listens; the primary shares it out). */
async function serveMetrics(text: MetricsText, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ statusCode: 404, error: 'Not Found', message: 'Only GET /metrics is served on METRICS_PORT', code: 'ROUTE_NOT_FOUND' }));
      return;
    }
    text().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error', code: 'INTERNAL' }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
  return server;
}

/** One serving process: build the app, listen, and close gracefully on SIGTERM/SIGINT. */
export async function startServer(config: Config, stats?: StatsCollector, bus?: Bus): Promise<FastifyInstance> {
  const logger = createLogger({ level: config.server.logLevel, secrets: [config.telegram.botToken, config.redis?.password, config.adminToken, config.access.uploadToken, ...(config.access.signingKeys ?? [])] });
  const app = await buildApp(config, { logger, stats, bus });
  // RENDERER=lottie-web needs node-canvas, an optional package built from source: refuse to start without it
  // (checked in a pool thread, where the renderer lives).
  if (config.pool.renderer !== 'dotlottie') await app.pool.checkRenderer();
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    // Readiness answers 503 from now on, so a load balancer stops sending while requests under way finish.
    app.draining = true;
    app.log.info({ signal }, 'closing');
    const force = setTimeout(() => {
      app.log.error({ timeoutMs: config.shutdownTimeoutMs }, 'requests still under way at SHUTDOWN_TIMEOUT_SEC: exiting anyway');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    const close = () =>
      app.close().then(
        () => process.exit(0),
        (err: unknown) => {
          app.log.error({ err }, 'error while closing');
          process.exit(1);
        },
      );
    // Readiness and Connection: close first, so clients and load balancers move on; then close.
    setTimeout(close, SHUTDOWN_DRAIN_MS);
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  // A deep accept backlog: a burst of a thousand new connections must queue, not see SYNs dropped.
  await app.listen({ host: config.server.host, port: config.server.port, backlog: 4096 });
  if (config.metrics.port !== undefined && app.metricsText) {
    const metrics = await serveMetrics(app.metricsText, config.server.host, config.metrics.port);
    app.server.once('close', () => metrics.close());
  }
  return app;
}

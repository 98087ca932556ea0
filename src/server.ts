import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createLogger } from './logger.js';
import type { StatsCollector } from './stats.js';
import type { Bus } from './model/events.js';

/** One serving process: build the app, listen, and close gracefully on SIGTERM/SIGINT. */
export async function startServer(config: Config, stats?: StatsCollector, bus?: Bus): Promise<FastifyInstance> {
  const logger = createLogger({ level: config.server.logLevel, secrets: [config.telegram.botToken, config.redis?.password, config.adminToken] });
  const app = await buildApp(config, { logger, stats, bus });
  // RENDERER=lottie-web needs node-canvas, an optional package built from source: refuse to start without it
  // (checked in a pool thread, where the renderer lives).
  if (config.pool.renderer !== 'dotlottie') await app.pool.checkRenderer();
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'closing');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'error while closing');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  // A deep accept backlog: a burst of a thousand new connections must queue, not see SYNs dropped.
  await app.listen({ host: config.server.host, port: config.server.port, backlog: 4096 });
  return app;
}

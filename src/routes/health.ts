import type { FastifyInstance } from 'fastify';

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const started = Date.now();

  // Liveness: no dependency is touched, so a slow Telegram never gets a healthy process restarted.
  app.get('/health', async () => ({ status: 'ok', pid: process.pid, uptimeSec: Math.round((Date.now() - started) / 1000) }));

  app.get('/health/ready', async (_req, reply) => {
    const token = app.telegram !== undefined;
    const pool = app.pool.stats;
    const ready = token;
    void reply.code(ready ? 200 : 503);
    return {
      status: ready ? 'ready' : 'not_ready',
      checks: {
        telegramToken: token ? 'configured' : 'missing: set TELEGRAM_BOT_TOKEN',
        processPool: { status: 'ok', ...pool },
        cache: { memory: 'ok', redis: 'disabled' },
      },
    };
  });
}

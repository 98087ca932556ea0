import type { FastifyInstance } from 'fastify';

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  const started = Date.now();

  // Liveness: no dependency is touched, so a slow Telegram never gets a healthy process restarted.
  app.get('/health', async () => ({ status: 'ok', pid: process.pid, uptimeSec: Math.round((Date.now() - started) / 1000) }));

  app.get('/health/ready', async (_req, reply) => {
    const telegram = app.telegram;
    const accepted = telegram ? await telegram.tokenAccepted() : false;
    const pool = app.pool.stats;
    const redis = app.redis === undefined ? 'disabled' : app.redis.skipping ? 'skipped: a command timed out (REDIS_BREAKER_SEC)' : app.redis.available ? 'ok' : 'unavailable';
    const disk = !app.config.disk ? 'disabled' : !app.disk ? 'unusable: see the start-up warning' : app.disk.usable ? 'ok' : 'unusable: the last write failed';
    const ready = accepted && !app.draining;
    void reply.code(ready ? 200 : 503);
    // Redis down is "degraded", not "not ready": requests are still served from memory and Telegram.
    return {
      status: app.draining ? 'draining' : !ready ? 'not_ready' : (redis === 'ok' || redis === 'disabled') && (disk === 'ok' || disk === 'disabled') ? 'ready' : 'degraded',
      checks: {
        telegramToken: !telegram ? 'missing: set TELEGRAM_BOT_TOKEN' : accepted ? 'configured' : 'rejected by Telegram (401): check TELEGRAM_BOT_TOKEN',
        processPool: { status: 'ok', ...pool },
        cache: { memory: 'ok', disk, redis },
      },
    };
  });
}

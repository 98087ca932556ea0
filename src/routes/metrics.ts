import type { FastifyInstance } from 'fastify';

/** GET /metrics (Prometheus text, the whole host), unless METRICS_PORT serves it on a port of its own. */
export async function metricsRoutes(app: FastifyInstance): Promise<void> {
  const text = app.metricsText;
  if (!text || app.config.metrics.port !== undefined) return;
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await text();
    void reply.type(contentType);
    return body;
  });
}

import type { FastifyInstance } from 'fastify';
import { buildOpenApi, type RegisteredRoute } from '../docs/openapi.js';

/** Records every route registered after it; the API document is made from this list. */
export function collectRoutes(app: FastifyInstance): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });
  return routes;
}

/**
 * The OpenAPI document at /docs/json (and /openapi.json, where the Python service had it) and Swagger UI at
 * /docs, its assets served from the package (no outside requests: the page works offline). The document
 * is made on the first request, so workers that are never asked pay nothing for it.
 */
export async function docsRoutes(app: FastifyInstance, opts: { routes: RegisteredRoute[] }): Promise<void> {
  if (!app.config.docsEnabled) return;
  let doc: Record<string, unknown> | undefined;
  const document = () =>
    (doc ??= buildOpenApi(opts.routes, { version: (require('../../../package.json') as { version: string }).version, maxOutputSize: app.config.limits.maxOutputSize }));
  const swagger = (require('@fastify/swagger') as typeof import('@fastify/swagger')).default;
  const swaggerUi = (require('@fastify/swagger-ui') as typeof import('@fastify/swagger-ui')).default;
  await app.register(swagger, { mode: 'static', specification: { document: { openapi: '3.1.0', info: { title: 'sticker-processor', version: '' }, paths: {} } } });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    transformSpecification: () => document(),
    transformSpecificationClone: false,
    uiConfig: { deepLinking: true },
  });
  app.get('/openapi.json', async () => document());
}

import { statusText } from '../errors.js';
import { variantQueryJsonSchema } from '../sticker/variant.js';
import { FILE_ID } from '../sticker/service.js';
import { API_ROUTES, RATE_LIMIT_HEADERS, STICKER_HEADERS, type RouteDoc } from './api-routes.js';

/** A registered route, as Fastify's onRoute hook sees it. */
export interface RegisteredRoute {
  method: string;
  url: string;
}

/** Not listed: the preflight answers any path, the page's assets and trailing-slash twin follow /docs, /openapi.json is /docs/json. */
export const undocumented = (r: RegisteredRoute) =>
  r.method === 'HEAD' || r.method === 'OPTIONS' || (r.url.startsWith('/docs/') && r.url !== '/docs/json') || r.url === '/openapi.json' || r.url.startsWith('/preview/');

/** Fastify's `:name` path syntax in OpenAPI's `{name}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/**
 * The OpenAPI 3.1 document of the routes this app registered: each described by API_ROUTES, the sticker
 * query by the zod schema that validates it. A registered route without a description is an error, so
 * a new route cannot ship undocumented (test/docs.test.ts builds the document).
 */
export function buildOpenApi(registered: RegisteredRoute[], opts: { version: string; maxOutputSize: number }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const query = variantQueryJsonSchema(opts.maxOutputSize);
  for (const route of registered) {
    if (undocumented(route)) continue;
    const path = openApiPath(route.url);
    const key = `${route.method} ${path}`;
    const doc = API_ROUTES[key];
    if (!doc) throw new Error(`route ${key} is registered but not described in docs/api-routes.ts`);
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(doc, query.properties);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'sticker-processor',
      version: opts.version,
      description:
        'Fetches Telegram stickers through the Bot API, converts and caches them. Every error body is JSON { statusCode, error, message, code }. ' +
        'HEAD works wherever GET does; browsers get CORS answers for CORS_ORIGINS (OPTIONS preflights on any path).',
    },
    tags: [
      { name: 'stickers', description: 'Stickers and conversions' },
      { name: 'operations', description: 'Health, metrics and counters' },
      { name: 'admin', description: 'Cache administration (Authorization: Bearer ADMIN_TOKEN)' },
    ],
    paths,
    components: {
      schemas: {
        Error: {
          type: 'object',
          required: ['statusCode', 'error', 'message', 'code'],
          properties: {
            statusCode: { type: 'integer' },
            error: { type: 'string', description: 'The HTTP status text' },
            message: { type: 'string', description: 'What was wrong, for people' },
            code: { type: 'string', description: 'A stable code from the error table' },
          },
        },
      },
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } },
    },
  };
}

function operation(doc: RouteDoc, queryProperties: Record<string, Record<string, unknown>>): Record<string, unknown> {
  const parameters: unknown[] = [];
  for (const [name, description] of Object.entries(doc.params ?? {})) {
    parameters.push({ name, in: 'path', required: true, description, schema: { type: 'string', ...(name === 'fileId' && { pattern: FILE_ID.source }) } });
  }
  if (doc.variantQuery) {
    for (const [name, schema] of Object.entries(queryProperties)) {
      const { description, ...rest } = schema;
      parameters.push({ name, in: 'query', required: false, description, schema: rest });
    }
  }
  if (doc.signed) {
    const description = 'With URL_SIGNING_KEY: base64url HMAC-SHA256 of the path and the other parameters sorted by name (see README, Signed URLs)';
    parameters.push({ name: 'sig', in: 'query', required: false, description, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' } });
  }
  const responses: Record<string, unknown> = {};
  const headers = (sticker: boolean) => {
    const all = { ...(sticker ? STICKER_HEADERS : {}), ...(doc.rateLimited ? RATE_LIMIT_HEADERS : {}) };
    return Object.fromEntries(Object.entries(all).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));
  };
  for (const [status, ok] of Object.entries(doc.ok)) {
    responses[status] = {
      description: ok.description,
      headers: headers(ok.stickerHeaders === true),
      ...(ok.types && { content: Object.fromEntries(ok.types.map((t) => [t, {}])) }),
    };
  }
  const byStatus = new Map<number, string[]>();
  for (const e of doc.errors) byStatus.set(e.status, [...(byStatus.get(e.status) ?? []), e.code]);
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const retry = status === 429 || status === 503 ? { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'string' } } } : {};
    responses[status] = {
      description: `${statusText[status] ?? status}: ${codes.join(', ')}`,
      headers: retry,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  }
  return {
    tags: [doc.tag],
    summary: doc.summary,
    description: doc.description,
    ...(parameters.length > 0 && { parameters }),
    ...(doc.body && {
      requestBody: { required: true, description: doc.body.description, content: Object.fromEntries(doc.body.types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])) },
    }),
    responses,
    ...(doc.admin && { security: [{ adminToken: [] }] }),
  };
}

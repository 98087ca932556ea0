import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTestApp, type TestApp } from './helper.js';
import { errors } from '../src/errors.js';
import { undocumented } from '../src/docs/openapi.js';

type Doc = { paths: Record<string, Record<string, Operation>> };
type Operation = { parameters?: Array<{ name: string; in: string; schema: { pattern?: string; enum?: string[] } }>; responses: Record<string, { description: string; headers?: Record<string, unknown> }> };

/** Every (method, path) Fastify has, read from its route tree (independent of the onRoute list the document uses). */
function registeredRoutes(tree: string): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.+) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 4;
    stack[depth] = (depth > 0 ? stack[depth - 1] : '') + m[2];
    stack.length = depth + 1;
    for (const method of m[3].split(', ')) out.push({ method, path: stack[depth] });
  }
  return out;
}

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const toOpenApi = (path: string) => path.replace(/:(\w+)/g, '{$1}');

describe('API documentation', () => {
  let t: TestApp;
  let doc: Doc;
  before(async () => {
    t = await buildTestApp({ ADMIN_TOKEN: 'docs-admin-token-0123456789' });
    const res = await t.app.inject({ url: '/docs/json' });
    assert.equal(res.statusCode, 200);
    doc = JSON.parse(res.payload) as Doc;
  });
  after(() => t.close());

  test('/docs/json lists every route the app registers (HEAD with GET; the UI and the preflight aside)', () => {
    const routes = registeredRoutes(t.app.printRoutes({ commonPrefix: false }));
    assert.ok(routes.length >= 12, 'the route tree was read');
    const expected = routes.filter((r) => !undocumented({ method: r.method, url: r.path })).map((r) => `${r.method} ${toOpenApi(r.path)}`).sort();
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    assert.deepEqual(listed, expected);
    for (const must of ['GET /stickers/{fileId}', 'POST /convert', 'GET /metrics', 'DELETE /cache/all', 'GET /health/ready']) assert.ok(listed.includes(must), must);
  });

  test('every route, parameter, status and header the README documents is in the document', () => {
    // Routes: the section titles and the "Other routes" table.
    const readmeRoutes = [...readme.matchAll(/^(?:### |\| )`(GET|POST|DELETE) (\/[^`]*)`/gm)].map((m) => `${m[1]} ${toOpenApi(m[2])}`);
    assert.ok(readmeRoutes.length >= 9);
    for (const r of readmeRoutes) {
      const [method, path] = r.split(' ');
      assert.ok(doc.paths[path]?.[method.toLowerCase()], `${r} (README) is in the document`);
    }
    // The sticker query: each parameter of README's table, with the validation the route applies.
    const stickers = doc.paths['/stickers/{fileId}'].get;
    const params = new Map(stickers.parameters!.map((p) => [p.name, p]));
    const section = readme.slice(readme.indexOf('### `GET /stickers/:fileId`'), readme.indexOf('### `POST /convert`'));
    const paramTable = section.slice(section.indexOf('| Parameter |'), section.indexOf('\n\n', section.indexOf('| Parameter |')));
    const readmeParams = [...paramTable.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(readmeParams.sort(), ['background', 'format', 'fps', 'frame', 'gif_alpha', 'preset', 'quality', 'sig', 'size', 'tint']);
    for (const name of readmeParams) assert.equal(params.get(name)?.in, 'query', name);
    assert.equal(params.get('fileId')?.in, 'path');
    assert.ok(params.get('format')!.schema.enum!.includes('apng'));
    assert.equal(params.get('size')!.schema.pattern, '^(0|[1-9][0-9]{0,8})$');
    // Statuses of README's table, each with its error codes.
    const statuses = [...section.matchAll(/^\| (\d{3}) \|/gm)].map((m) => m[1]);
    assert.ok(statuses.length >= 10);
    for (const s of statuses) assert.ok(stickers.responses[s], `status ${s}`);
    for (const code of [...section.matchAll(/\(`([A-Z_]+)`/g)].map((m) => m[1])) {
      assert.ok(Object.values(stickers.responses).some((r) => r.description.includes(code)), `${code} is listed`);
    }
    // Response headers of README's table.
    const headers = Object.keys(stickers.responses['200'].headers!);
    for (const h of [...section.matchAll(/^\| `(X-[\w-]+|ETag|Cache-Control)`/gm)].map((m) => m[1])) assert.ok(headers.includes(h), h);
    assert.ok(headers.includes('X-RateLimit-Remaining'));
    assert.ok(stickers.responses['503'].headers!['Retry-After']);
  });

  test('each error status of a route names codes from the catalogue', () => {
    const codes = new Set(Object.values(errors).map((e) => e.code));
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops)) {
        for (const [status, r] of Object.entries(op.responses)) {
          if (Number(status) < 400) continue;
          for (const code of r.description.split(': ')[1].split(', ')) assert.ok(codes.has(code), code);
        }
      }
    }
  });

  test('/docs is Swagger UI served from the package (no outside assets); /openapi.json is the same document', async () => {
    const page = await t.app.inject({ url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    const assets = [...page.payload.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(assets.some((a) => a.includes('swagger-ui-bundle.js')));
    for (const a of assets) {
      assert.doesNotMatch(a, /^(https?:)?\/\//, `${a} is local`);
      assert.equal((await t.app.inject({ url: new URL(a, 'http://x/docs/').pathname })).statusCode, 200, a);
    }
    const init = await t.app.inject({ url: '/docs/static/swagger-initializer.js' });
    assert.ok(init.payload.includes("resolveUrl('./json')"), 'the page loads ./json');
    const compat = await t.app.inject({ url: '/openapi.json' });
    assert.deepEqual(JSON.parse(compat.payload), doc);
  });

  test('DOCS_ENABLED=false: no /docs, /docs/json or /openapi.json', async () => {
    const off = await buildTestApp({ DOCS_ENABLED: 'false' });
    try {
      for (const url of ['/docs', '/docs/json', '/openapi.json']) assert.equal((await off.app.inject({ url })).statusCode, 404, url);
    } finally {
      await off.close();
    }
  });
});

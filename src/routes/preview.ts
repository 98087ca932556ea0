import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

// preview/ at the repository's root (and in the image): dist/src/routes -> ../../../preview.
const ASSETS = join(__dirname, '..', '..', '..', 'preview');
const FILES = [
  { route: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { route: '/preview/preview.js', file: 'preview.js', type: 'text/javascript; charset=utf-8' },
  { route: '/preview/preview.css', file: 'preview.css', type: 'text/css; charset=utf-8' },
];
// The page runs only its own script and loads only from this service (blob: for the outputs it shows).
const POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** GET /: the preview page (plain HTML, CSS and JavaScript read once at start); absent with PREVIEW_ENABLED=false. */
export async function previewRoutes(app: FastifyInstance): Promise<void> {
  if (!app.config.previewEnabled) return;
  for (const { route, file, type } of FILES) {
    const body = readFileSync(join(ASSETS, file));
    app.get(route, (_req, reply) => {
      void reply
        .header('content-type', type)
        .header('content-security-policy', POLICY)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'no-cache')
        .send(body);
    });
  }
}

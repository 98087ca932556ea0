import type { FastifyInstance } from 'fastify';
import { supportedFormats } from '../formats.js';

export async function formatRoutes(app: FastifyInstance): Promise<void> {
  app.get('/formats', async () => supportedFormats);
}

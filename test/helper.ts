import type { RendererName } from '../src/config.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { FakeTelegram } from './fake-telegram.js';

/** The repository's test/fixtures folder, from the compiled location (dist/test). */
export const fixturesDir = join(__dirname, '..', '..', 'test', 'fixtures');
export const fixture = (name: string): Buffer => readFileSync(join(fixturesDir, name));

export interface TestApp {
  app: FastifyInstance;
  fake: FakeTelegram;
  logs: string[];
  close(): Promise<void>;
}

/** A real app against a real fake Telegram on a free port; env overrides the test defaults. */
export async function buildTestApp(env: Record<string, string> = {}, fake?: FakeTelegram): Promise<TestApp> {
  const tg = fake ?? (await new FakeTelegram().start());
  const config = loadConfig({
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_API_BASE_URL: tg.url,
    LOG_LEVEL: 'debug',
    BASE_RETRY_DELAY: '0.01',
    MAX_RETRY_DELAY: '0.05',
    MAX_PROCESS_WORKERS: '1',
    ENDPOINT_TIMEOUT_SEC: '10',
    // Each test app starts with empty tiers; disk tests turn it on with a directory of their own.
    DISK_CACHE_ENABLED: 'false',
    ...env,
  });
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', secrets: [config.telegram.botToken], destination: { write: (l: string) => void logs.push(l) } });
  const app = await buildApp(config, { logger });
  await app.ready();
  return {
    app,
    fake: tg,
    logs,
    async close() {
      await app.close();
      if (!fake) await tg.close();
    },
  };
}

/** Valid-looking Telegram file ids for tests. */
export const fid = (name: string) => `CAACAgIAAxkBAAE${name}`.replace(/[^A-Za-z0-9_-]/g, '_');

/** The renderers that can run here: dotlottie always, lottie-web where node-canvas was built. */
export function availableRenderers(): RendererName[] {
  // Required here, not at the top: a test of what the serving thread loads must not find it loaded by us.
  const { loadCanvas } = require('../src/convert/render/lottie-web.js') as typeof import('../src/convert/render/lottie-web.js');
  return loadCanvas() instanceof Error ? ['dotlottie'] : ['dotlottie', 'lottie-web'];
}

/** Waits until cond() holds, checking on each turn of a short timer; gives up after ms. */
export async function eventually(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

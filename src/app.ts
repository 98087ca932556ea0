import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { errors } from './errors.js';
import { SERVER_TIMEOUT_CHECK_MS } from './limits.js';
import type { ThreadPool } from './convert/pool.js';
import type { Converter } from './convert/converter.js';
import type { MemoryCache } from './cache/memory.js';
import { noTelegramCalls, type TelegramClient } from './telegram/client.js';
import type { StickerService } from './sticker/service.js';
import type { StickerSets } from './sticker/sets.js';
import type { CustomEmojiResolver } from './sticker/custom-emoji.js';
import type { StickerEntry } from './model/entry.js';
import { localStats, type ProcessStats, type StatsCollector } from './stats.js';
import type { RedisTier } from './redis/tier.js';
import type { UploadBudget } from './upload/budget.js';
import type { DiskTier } from './disk/tier.js';
import { createParts, type AppDeps, type Parts } from './parts.js';
import { handleErrors } from './error-handler.js';
import { limitRate } from './rate-limit.js';
import { observe, REQUEST_ID } from './observe.js';
import { allowCrossOrigin, shedOverload } from './edge-guards.js';
import { guardAccess } from './access-guard.js';
import { checkCustomPresets } from './sticker/variant.js';
import type { MetricsText } from './metrics.js';
import { metricsRoutes } from './routes/metrics.js';
import { stickerRoutes } from './routes/stickers.js';
import { healthRoutes } from './routes/health.js';
import { formatRoutes } from './routes/formats.js';
import { cacheRoutes } from './routes/cache.js';
import { convertRoutes } from './routes/convert.js';
import { setRoutes } from './routes/sets.js';
import { gridRoutes } from './routes/grid.js';
import { customEmojiRoutes } from './routes/custom-emoji.js';
import { previewRoutes } from './routes/preview.js';
import { collectRoutes, docsRoutes } from './routes/docs.js';

export type { AppDeps };

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    stickers: StickerService;
    sets: StickerSets;
    customEmoji: CustomEmojiResolver;
    pool: ThreadPool;
    converter: Converter;
    telegram: TelegramClient | undefined;
    memoryCache: MemoryCache<StickerEntry>;
    stats: StatsCollector;
    redis: RedisTier | undefined;
    uploads: UploadBudget;
    disk: DiskTier | undefined;
    /** Set when the process starts closing: readiness answers 503. */
    draining: boolean;
    /** The text of /metrics; undefined with METRICS_ENABLED=false. */
    metricsText: MetricsText | undefined;
  }
}

/** Builds the Fastify instance with every route and dependency; never listens. */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  checkCustomPresets(config.customPresets, config.limits.maxOutputSize);
  const app = createServer(config, deps);
  const routes = collectRoutes(app);
  const parts = createParts(app, config, deps);
  const stats = deps.stats ?? localStats();
  stats.attach('stats', () => processStats(parts));
  decorate(app, config, parts, stats);
  app.decorate('metricsText', observe(app, config, parts, stats));
  handleErrors(app);
  await allowCrossOrigin(app, config);
  await guardAccess(app, config);
  await shedOverload(app, config);
  await limitRate(app, config, parts.redis);
  await app.register(healthRoutes);
  await app.register(formatRoutes);
  await app.register(cacheRoutes);
  await app.register(metricsRoutes);
  await app.register(stickerRoutes);
  await app.register(convertRoutes);
  await app.register(setRoutes);
  await app.register(gridRoutes);
  await app.register(customEmojiRoutes);
  await app.register(previewRoutes);
  await app.register(docsRoutes, { routes });
  // Fastify runs this after its own server close, which waits for the requests under way (the shutdown
  // tests pin that), so the pool, the Telegram client and Redis never close under an answered request.
  app.addHook('onClose', async () => {
    stats.close();
    await parts.close();
  });
  return app;
}

function createServer(config: Config, deps: AppDeps): FastifyInstance {
  return Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // A log line per cache hit would cost more than serving it; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 1024 }, // long ids must reach our validation (400), not the router's 404
    bodyLimit: 64 * 1024, // only POST /convert takes a body, with its own limit
    // Requests that arrive on open connections while the server closes are answered, not refused: the
    // drain before closing (server.ts) has already asked their clients to leave.
    return503OnClosing: false,
    trustProxy: config.trustProxy, // off by default: a client must not pick its own identity via X-Forwarded-For
    forceCloseConnections: 'idle',
    // A client's X-Request-Id when it is plain (it goes into logs), else one of ours.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Slow-header and slow-body sockets are closed within a second of their limit, not Node's 30 s check.
    http: { headersTimeout: config.server.headersTimeoutMs, connectionsCheckingInterval: SERVER_TIMEOUT_CHECK_MS },
    requestTimeout: config.server.requestTimeoutMs,
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
  });
}

function decorate(app: FastifyInstance, config: Config, parts: Parts, stats: StatsCollector): void {
  app.decorate('config', config);
  app.decorate('stickers', parts.stickers);
  app.decorate('sets', parts.sets);
  app.decorate('customEmoji', parts.customEmoji);
  app.decorate('pool', parts.pool);
  app.decorate('converter', parts.converter);
  app.decorate('telegram', parts.telegram);
  app.decorate('memoryCache', parts.memoryCache);
  app.decorate('stats', stats);
  app.decorate('redis', parts.redis);
  app.decorate('uploads', parts.uploads);
  app.decorate('disk', parts.disk);
  app.decorate('draining', false);
}

/** This process's counters, as /cache/stats reports them. */
function processStats({ memoryCache, telegram, stickers, pool, redis, uploads, disk }: Parts): ProcessStats {
  const m = process.memoryUsage();
  return {
    pid: process.pid,
    memory: memoryCache.stats(),
    telegram: telegram ? { ...telegram.counters } : noTelegramCalls(),
    coalesced: stickers.coalesced,
    coalescedAcrossProcesses: stickers.coalescedAcrossProcesses,
    pool: pool.stats,
    uploads: { bytesHeld: uploads.used, maxBytes: uploads.maxBytes, refusedBusy: uploads.refused },
    redis: redis ? { ...redis.counters } : { hits: 0, misses: 0, errors: 0, writes: 0, skippedTooLarge: 0 },
    disk: disk ? { ...disk.counters } : { hits: 0, misses: 0, errors: 0, writes: 0, skippedTooLarge: 0 },
    process: { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, uptimeSec: Math.round(process.uptime()) },
  };
}

import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { Agent, type Dispatcher } from 'undici';
import type { Config } from './config.js';
import { AppError, errors, statusText } from './errors.js';
import type { Logger } from './logger.js';
import { ThreadPool } from './convert/pool.js';
import { Converter } from './convert/converter.js';
import { VideoConverter } from './convert/video.js';
import { MemoryCache } from './cache/memory.js';
import { TelegramClient } from './telegram/client.js';
import { TelegramGate } from './telegram/gate.js';
import { StickerService } from './sticker/service.js';
import type { StickerEntry } from './model/entry.js';
import { localStats, type ProcessStats, type StatsCollector } from './stats.js';
import type { RedisTier } from './cache/redis.js';
import { localBus, type Bus } from './bus.js';
import { stickerRoutes } from './routes/stickers.js';
import { healthRoutes } from './routes/health.js';
import { formatRoutes } from './routes/formats.js';
import { cacheRoutes } from './routes/cache.js';
import { convertRoutes } from './routes/convert.js';

/** What the app needs from outside; anything left out is created from config and closed with the app. */
export interface AppDeps {
  logger: Logger;
  pool?: ThreadPool;
  dispatcher?: Dispatcher;
  stats?: StatsCollector;
  /** How cache events reach the other processes when there is no Redis (cluster IPC); default: this process only. */
  bus?: Bus;
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    stickers: StickerService;
    pool: ThreadPool;
    converter: Converter;
    telegram: TelegramClient | undefined;
    memoryCache: MemoryCache<StickerEntry>;
    stats: StatsCollector;
    redis: RedisTier | undefined;
  }
}

/** Builds the Fastify instance with every route and dependency; never listens. */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // A log line per cache hit would cost more than serving it; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 1024 }, // long ids must reach our validation (400), not the router's 404
    bodyLimit: 64 * 1024, // only POST /convert takes a body, with its own limit
    return503OnClosing: true,
    trustProxy: config.trustProxy, // off by default: a client must not pick its own identity via X-Forwarded-For
    forceCloseConnections: 'idle',
  });

  const owned: Array<() => unknown> = [];
  const pool =
    deps.pool ??
    new ThreadPool({
      threads: config.pool.threads,
      queueMax: config.pool.queueMax,
      taskTimeoutMs: config.limits.conversionTimeoutMs,
      maxLottieBytes: config.limits.maxLottieBytes,
      maxLottieDimension: config.limits.maxLottieDimension,
      maxFrames: config.limits.maxFrames,
      renderer: config.pool.renderer,
      idleTimeoutMs: config.pool.idleTimeoutMs,
    });
  if (!deps.pool) owned.push(() => pool.close());

  const dispatcher =
    deps.dispatcher ??
    new Agent({
      connections: config.telegram.connectionsPerOrigin,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connect: { timeout: Math.min(10_000, config.telegram.timeoutMs) },
    });
  if (!deps.dispatcher) owned.push(() => dispatcher.close());

  // ioredis and the rate limiter load only when configured: a bare service does not carry them in memory.
  const redis = config.redis
    ? new (require('./cache/redis.js') as typeof import('./cache/redis.js')).RedisTier(config.redis, { ttlSeconds: config.cache.ttlSeconds, logger: app.log as Logger })
    : undefined;
  if (redis) owned.push(() => redis.close());
  // With Redis, its pub/sub reaches every worker of every replica; without, the given bus (cluster IPC) or this process.
  const bus: Bus = redis ?? deps.bus ?? localBus();
  const rps = config.telegram.globalRps;
  const gate = new TelegramGate(config.telegram.maxConcurrentRequests, redis && rps > 0 ? () => redis.takeBudget(rps) : undefined);
  if (rps > 0 && !redis) app.log.warn('TELEGRAM_GLOBAL_RPS needs Redis; it is ignored without it');
  bus.onEvent((e) => e.type === 'pause' && gate.pause(e.ms / 1000));
  if (redis) {
    app.addHook('onReady', async () => {
      if (!(await redis.waitReady(Math.max(2000, config.redis!.commandTimeoutMs * 4)))) {
        app.log.warn('redis not reachable at start: serving degraded until it is');
      }
      const paused = await redis.pauseRemaining();
      if (paused > 0) gate.pause(paused / 1000);
    });
  }

  const t = config.telegram;
  const telegram = t.botToken
    ? new TelegramClient({
        botToken: t.botToken,
        apiBaseUrl: t.apiBaseUrl,
        downloadBaseUrl: t.downloadBaseUrl,
        timeoutMs: t.timeoutMs,
        maxRetries: t.maxRetries,
        baseRetryDelayMs: t.baseRetryDelayMs,
        maxRetryDelayMs: t.maxRetryDelayMs,
        maxFileBytes: config.limits.maxFileBytes,
        dispatcher,
        gate,
        onRateLimited: (seconds) => {
          void bus.publish({ type: 'pause', ms: seconds * 1000 });
          void redis?.setPause(seconds * 1000);
        },
      })
    : undefined;
  if (!telegram) app.log.warn('TELEGRAM_BOT_TOKEN is not set: /stickers answers 503 until it is configured');

  const memoryCache = new MemoryCache<StickerEntry>({ maxBytes: config.cache.memoryBytes, ttlMs: config.cache.ttlSeconds * 1000 });
  const converter = new Converter(pool, new VideoConverter(config.limits.ffmpegPath));
  const stickers = new StickerService({
    telegram,
    converter,
    memory: memoryCache,
    maxFileBytes: config.limits.maxFileBytes,
    endpointTimeoutMs: config.limits.endpointTimeoutMs,
    filePathTtlMs: config.cache.filePathTtlMs,
    redis,
    bus,
  });

  const stats = deps.stats ?? localStats();
  stats.attach(
    (): ProcessStats => ({
      pid: process.pid,
      memory: memoryCache.stats(),
      telegram: telegram ? { ...telegram.counters } : { getFileCalls: 0, downloadCalls: 0, errors: 0, rateLimited: 0, retries: 0, bytesDownloaded: 0 },
      coalesced: stickers.coalesced,
      coalescedAcrossProcesses: stickers.coalescedAcrossProcesses,
      pool: pool.stats,
      redis: redis ? { ...redis.counters } : { hits: 0, misses: 0, errors: 0, writes: 0, skippedTooLarge: 0 },
      process: processMemory(),
    }),
  );

  app.decorate('config', config);
  app.decorate('stickers', stickers);
  app.decorate('pool', pool);
  app.decorate('converter', converter);
  app.decorate('telegram', telegram);
  app.decorate('memoryCache', memoryCache);
  app.decorate('stats', stats);
  app.decorate('redis', redis);

  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    let status: number;
    let message: string;
    let code: string;
    if (err instanceof AppError) {
      ({ statusCode: status, message, code } = err);
      if (err.retryAfter !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfter))));
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own client errors (bad JSON body, unsupported media type...) are safe to show.
      status = err.statusCode;
      message = err.message;
      code = err.code ?? 'BAD_REQUEST';
    } else {
      ({ statusCode: status, message, code } = errors.internal());
    }
    if (status >= 500) req.log.error({ err, url: req.url, code }, 'request failed');
    else req.log.debug({ code, url: req.url, status }, message);
    void reply.code(status).type('application/json').send({ statusCode: status, error: statusText[status] ?? 'Error', message, code });
  });

  app.setNotFoundHandler((req) => {
    throw errors.routeNotFound(req.method, req.url.split('?')[0]);
  });

  if (config.rateLimit.enabled) {
    const { max, windowMs } = config.rateLimit;
    const rateLimit = (require('@fastify/rate-limit') as typeof import('@fastify/rate-limit')).default;
    await app.register(rateLimit, {
      max,
      timeWindow: windowMs,
      redis: redis?.sharedClient,
      nameSpace: `${config.redis?.keyPrefix ?? 'sticker:'}rl:`,
      // Redis trouble must not turn into refused requests: the limit is skipped instead.
      skipOnError: true,
      allowList: (req) => req.url.startsWith('/health') || req.url.startsWith('/metrics'),
      errorResponseBuilder: () => errors.rateLimited(max, `${windowMs / 1000} s`),
    });
  }

  await app.register(healthRoutes);
  await app.register(formatRoutes);
  await app.register(cacheRoutes);
  await app.register(stickerRoutes);
  await app.register(convertRoutes);

  // Fastify runs this after its own server close, which waits for the requests under way (the shutdown
  // tests pin that), so the pool, the Telegram client and Redis never close under an answered request.
  app.addHook('onClose', async () => {
    stats.close();
    for (const close of owned.reverse()) await close();
  });
  return app;
}

function processMemory(): ProcessStats['process'] {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, uptimeSec: Math.round(process.uptime()) };
}

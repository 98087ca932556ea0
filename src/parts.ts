import type { FastifyInstance } from 'fastify';
import { Agent, type Dispatcher } from 'undici';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { poolOptions, ThreadPool } from './convert/pool.js';
import { Converter } from './convert/converter.js';
import { VideoConverter } from './convert/video.js';
import { MemoryCache } from './cache/memory.js';
import { TieredCache } from './cache/tiered.js';
import { CoordinatedFetch } from './cache/coordinated-fetch.js';
import { TelegramClient } from './telegram/client.js';
import { TelegramGate } from './telegram/gate.js';
import { TelegramFiles } from './telegram/files.js';
import { StickerSets } from './sticker/sets.js';
import { CustomEmojiResolver } from './sticker/custom-emoji.js';
import { StickerService } from './sticker/service.js';
import type { StickerEntry } from './model/entry.js';
import type { RedisTier } from './redis/tier.js';
import type { DiskTier } from './disk/tier.js';
import { localBus } from './bus.js';
import { UploadBudget } from './upload/budget.js';
import type { Bus } from './model/events.js';
import type { StatsCollector } from './stats.js';

/** What the app needs from outside; anything left out is created from config and closed with the app. */
export interface AppDeps {
  logger: Logger;
  pool?: ThreadPool;
  dispatcher?: Dispatcher;
  stats?: StatsCollector;
  /** How cache events reach the other processes when there is no Redis (cluster IPC); default: this process only. */
  bus?: Bus;
}

/** The service's parts, wired to each other; close() closes what was created here, in reverse order. */
export interface Parts {
  pool: ThreadPool;
  redis: RedisTier | undefined;
  disk: DiskTier | undefined;
  telegram: TelegramClient | undefined;
  memoryCache: MemoryCache<StickerEntry>;
  converter: Converter;
  stickers: StickerService;
  sets: StickerSets;
  customEmoji: CustomEmojiResolver;
  /** The memory POST /convert bodies may hold in this process. */
  uploads: UploadBudget;
  close(): Promise<void>;
}

/** Builds every part from config (or takes it from deps); app is used for its logger and start-up hook. */
export function createParts(app: FastifyInstance, config: Config, deps: AppDeps): Parts {
  const owned: Array<() => unknown> = [];
  const pool = deps.pool ?? new ThreadPool(poolOptions(config));
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
    ? new (require('./redis/tier.js') as typeof import('./redis/tier.js')).RedisTier(config.redis, { ttlSeconds: config.cache.ttlSeconds, logger: app.log as Logger })
    : undefined;
  if (redis) owned.push(() => redis.close());
  // With Redis, its pub/sub reaches every worker of every replica; without, the given bus (cluster IPC) or this process.
  const bus: Bus = redis?.events ?? deps.bus ?? localBus();
  const rps = config.telegram.globalRps;
  const gate = new TelegramGate(config.telegram.maxConcurrentRequests, redis && rps > 0 ? () => redis.budget.take(rps) : undefined);
  if (rps > 0 && !redis) app.log.warn('TELEGRAM_GLOBAL_RPS needs Redis; it is ignored without it');
  bus.onEvent((e) => e.type === 'pause' && gate.pause(e.ms / 1000));
  if (redis) {
    app.addHook('onReady', async () => {
      if (!(await redis.waitReady(Math.max(2000, config.redis!.commandTimeoutMs * 4)))) {
        app.log.warn('redis not reachable at start: serving degraded until it is');
      }
      const paused = await redis.budget.pauseRemaining();
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
          void redis?.budget.setPause(seconds * 1000);
        },
      })
    : undefined;
  if (!telegram) app.log.warn('TELEGRAM_BOT_TOKEN is not set: /stickers answers 503 until it is configured');
  // Readiness learns a rejected token at start, not at the first request (in the background: start is not held up).
  else app.addHook('onReady', async () => void telegram.checkToken().then(() => telegram.tokenRejected && app.log.error('Telegram rejects TELEGRAM_BOT_TOKEN (401): /health/ready answers 503')));

  const files = telegram && new TelegramFiles({ telegram, filePathTtlMs: config.cache.filePathTtlMs, maxFileBytes: config.limits.maxFileBytes, shared: redis?.files });
  // The disk tier loads (and opens its store) only when enabled; an unusable disk is a warning, not a failure.
  const diskStore = config.disk && (require('./disk/store.js') as typeof import('./disk/store.js')).openDiskStore(config.disk, app.log as Logger);
  const disk = diskStore ? new (require('./disk/tier.js') as typeof import('./disk/tier.js')).DiskTier(diskStore, config.disk!, app.log as Logger) : undefined;
  if (disk) owned.push(() => disk.close());
  const memoryCache = new MemoryCache<StickerEntry>({ maxBytes: config.cache.memoryBytes, ttlMs: config.cache.ttlSeconds * 1000 });
  // Nearest first: this host's disk, then the replicas' Redis.
  const cache = new TieredCache(memoryCache, [disk, redis].filter((t) => t !== undefined));
  // One fetch per sticker: across replicas with Redis, across this host's workers with the disk store.
  const fetchLock = redis?.fetchLock ?? (diskStore && new (require('./disk/fetch-lock.js') as typeof import('./disk/fetch-lock.js')).DiskFetchLock(diskStore));
  const converter = new Converter(pool, new VideoConverter(config.limits.ffmpegPath));
  const stickers = new StickerService({
    files,
    converter,
    cache,
    coordinated: new CoordinatedFetch(fetchLock, bus),
    endpointTimeoutMs: config.limits.endpointTimeoutMs,
    sharedBudgetMs: config.redis?.requestBudgetMs ?? Infinity,
    bus,
  });

  return {
    pool,
    redis,
    disk,
    telegram,
    memoryCache,
    converter,
    stickers,
    sets: new StickerSets({ telegram, ttlMs: config.cache.setTtlMs, endpointTimeoutMs: config.limits.endpointTimeoutMs }),
    customEmoji: new CustomEmojiResolver({ telegram, batchMs: config.customEmoji.batchMs, ttlMs: config.cache.ttlSeconds * 1000, endpointTimeoutMs: config.limits.endpointTimeoutMs }),
    uploads: new UploadBudget(config.upload.maxInflightBytes),
    async close() {
      for (const close of owned.reverse()) await close();
    },
  };
}

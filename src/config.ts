import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { boolean, hostPorts, integer, number, oneOf, readSettings, SettingError, text, url } from './settings.js';

/** Raised when the environment cannot be turned into a Config; the message is one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

// The old service took Python's level names; pino wants its own.
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const logLevel = oneOf(LOG_LEVELS, (v) => {
  const l = v.trim().toLowerCase();
  return l === 'warning' ? 'warn' : l === 'critical' ? 'fatal' : l;
});
const httpUrl = url(['http', 'https']);

const cpus = availableParallelism();
const SECRET_SETTINGS = new Set(['TELEGRAM_BOT_TOKEN', 'REDIS_PASSWORD', 'REDIS_URL', 'ADMIN_TOKEN', 'URL_SIGNING_KEY', 'UPLOAD_TOKEN']);

const MIN_SIGNING_KEY_LENGTH = 32;

/** Defaults that code outside this file falls back on too (the pool, built without a Config in tests). */
export const DEFAULT_LIMITS = { maxLottieDimension: 4096, maxFrames: 1800 } as const;

/** The Lottie renderers the pool threads can use (RENDERER, and the CLI's --renderer). */
export const RENDERERS = ['dotlottie', 'lottie-web'] as const;

// Env names are the old service's; each entry is the variable exactly as an operator writes it.
const schema = {
  TELEGRAM_BOT_TOKEN: text({ trim: true }).optional(),
  TELEGRAM_API_BASE_URL: httpUrl.default('https://api.telegram.org'),
  TELEGRAM_DOWNLOAD_BASE_URL: httpUrl.optional(),
  TELEGRAM_TIMEOUT_SEC: number(0.1, 600).default(30),
  TELEGRAM_MAX_CONCURRENT_REQUESTS: integer(1, 10_000).default(32),
  TELEGRAM_GLOBAL_RPS: integer(0, 100_000).default(0),
  SERVER_HOST: text({ min: 1 }).default('0.0.0.0'),
  SERVER_PORT: integer(0, 65535).default(8081),
  LOG_LEVEL: logLevel.default('info'),
  WORKERS: integer(1, 256).default(cpus),
  MAX_FILE_SIZE_MB: number(0.001, 2000).default(20),
  ENDPOINT_TIMEOUT_SEC: number(0.1, 3600).default(30),
  CONVERSION_TIMEOUT_SEC: number(0.1, 3600).default(30),
  MAX_PROCESS_WORKERS: integer(1, 256).optional(),
  CACHE_TTL_DAYS: number(0, 3650).default(7),
  HTTP_MAX_CONNECTIONS: integer(1, 10_000).default(100),
  HTTP_MAX_CONNECTIONS_PER_HOST: integer(1, 10_000).default(32),
  MAX_RETRIES: integer(0, 20).default(3),
  BASE_RETRY_DELAY: number(0, 600).default(1),
  MAX_RETRY_DELAY: number(0, 3600).default(30),
  MEMORY_CACHE_MB: number(0, 1_000_000).default(64),
  DISK_CACHE_ENABLED: boolean.default(true),
  DISK_CACHE_DIR: text({ min: 1 }).default('/tmp/sticker_cache'),
  DISK_CACHE_MAX_SIZE_MB: number(1, 16 * 1024 * 1024).default(1000),
  DISK_CACHE_TTL_DAYS: number(0, 3650).default(30),
  DISK_CACHE_CLEANUP_INTERVAL_HOURS: number(0.001, 8760).default(24),
  DISK_MAX_FILE_SIZE_MB: number(0.001, 16 * 1024).default(50),
  MAX_LOTTIE_BYTES: integer(1024, 1024 ** 3).default(16 * 1024 * 1024),
  MAX_LOTTIE_DIMENSION: integer(16, 65_536).default(DEFAULT_LIMITS.maxLottieDimension),
  MAX_FRAMES: integer(1, 1_000_000).default(DEFAULT_LIMITS.maxFrames),
  RENDER_QUEUE_MAX: integer(0, 1_000_000).default(256),
  POOL_IDLE_TIMEOUT_SEC: number(0.1, 86_400).default(30),
  MAX_OUTPUT_SIZE: integer(16, 4096).default(1024),
  UPLOAD_ENABLED: boolean.default(true),
  FFMPEG_PATH: text({ min: 1 }).default('ffmpeg'),
  RENDERER: oneOf(RENDERERS).default('dotlottie'),
  MAX_UPLOAD_MB: number(0.001, 512).default(10),
  UPLOAD_TIMEOUT_SEC: number(0.1, 3600).default(30),
  UPLOAD_MIN_BYTES_PER_SEC: integer(0, 1024 ** 3).default(4096),
  UPLOAD_MAX_INFLIGHT_MB: number(0.001, 1_000_000).default(64),
  SERVER_HEADERS_TIMEOUT_SEC: number(0.1, 3600).default(10),
  SERVER_REQUEST_TIMEOUT_SEC: number(0.1, 3600).default(60),
  SERVER_KEEPALIVE_TIMEOUT_SEC: number(0.1, 3600).default(72),
  REDIS_ENABLED: boolean.default(true),
  REDIS_URL: url(['redis', 'rediss']).optional(),
  REDIS_HOST: text({ min: 1 }).optional(),
  REDIS_PORT: integer(1, 65535).default(6379),
  REDIS_PASSWORD: text().optional(),
  REDIS_DATABASE: integer(0, 1024).default(0),
  REDIS_SSL_ENABLED: boolean.default(false),
  REDIS_CLUSTER_NODES: hostPorts.optional(),
  REDIS_KEY_PREFIX: text({ min: 1, max: 64 }).default('sticker:'),
  REDIS_MAX_CONNECTIONS: integer(1, 64).default(1),
  REDIS_MAX_FILE_SIZE_MB: number(0, 512).default(10),
  REDIS_TIMEOUT_MS: integer(10, 60_000).default(500),
  REDIS_REQUEST_BUDGET_MS: integer(10, 600_000).default(1000),
  REDIS_BREAKER_SEC: number(0, 3600).default(5),
  RATE_LIMIT_ENABLED: boolean.default(false),
  RATE_LIMIT_REQUESTS: integer(1, 10_000_000).default(100),
  RATE_LIMIT_WINDOW_SEC: number(1, 86_400).default(60),
  RATE_LIMIT_CONVERSIONS: integer(0, 10_000_000).default(30),
  RATE_LIMIT_FAIL_OPEN: boolean.default(false),
  TRUST_PROXY: boolean.default(false),
  METRICS_ENABLED: boolean.default(true),
  METRICS_PORT: integer(1, 65535).optional(),
  ACCESS_LOG: boolean.default(true),
  DOCS_ENABLED: boolean.default(true),
  CORS_ORIGINS: text({ trim: true }).default('*'),
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: integer(0, 600_000).default(1000),
  OVERLOAD_MAX_HEAP_MB: number(0, 1_000_000).default(0),
  SHUTDOWN_TIMEOUT_SEC: number(0.1, 3600).optional(),
  ADMIN_TOKEN: text({ min: 16 }).optional(),
  URL_SIGNING_KEY: text({ trim: true }).optional(),
  ONLY_PRESETS: boolean.default(false),
  UPLOAD_TOKEN: text({ min: 16 }).optional(),
  CUSTOM_PRESETS: text({ trim: true }).optional(),
  STICKER_SET_TTL_SEC: number(0, 86_400).default(300),
  MAX_SET_STICKERS: integer(1, 10_000).default(200),
  ARCHIVE_TIMEOUT_SEC: number(1, 86_400).default(300),
  ARCHIVE_CONCURRENCY: integer(1, 64).default(1),
  PREVIEW_ENABLED: boolean.optional(),
  CUSTOM_EMOJI_BATCH_MS: integer(0, 1000).default(5),
  MAX_GRID_STICKERS: integer(1, 10_000).default(120),
  MAX_GRID_PIXELS: integer(65_536, 268_435_456).default(16_777_216),
};

/** Every environment variable the service reads (config.env.example and the README list each one). */
export const settingNames: readonly string[] = Object.keys(schema);

export type Config = Readonly<{
  telegram: Readonly<{
    botToken: string | undefined;
    apiBaseUrl: string;
    downloadBaseUrl: string;
    timeoutMs: number;
    maxConcurrentRequests: number;
    /** Calls per second shared by every replica (needs Redis); 0 = no global budget. */
    globalRps: number;
    connectionsPerOrigin: number;
    maxRetries: number;
    baseRetryDelayMs: number;
    maxRetryDelayMs: number;
  }>;
  server: Readonly<{
    host: string;
    port: number;
    logLevel: string;
    workers: number;
    /** How long a client may take to send a request's headers, the whole request, and how long an idle keep-alive connection stays open. */
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
  }>;
  limits: Readonly<{
    maxFileBytes: number;
    maxLottieBytes: number;
    /** Largest Lottie w or h accepted. */
    maxLottieDimension: number;
    /** Most frames (op - ip) an animation may have. */
    maxFrames: number;
    endpointTimeoutMs: number;
    conversionTimeoutMs: number;
    /** Largest edge of a converted image, px. */
    maxOutputSize: number;
    /** POST /convert: undefined when UPLOAD_ENABLED=false. */
    maxUploadBytes: number | undefined;
    /** The ffmpeg binary for video stickers. */
    ffmpegPath: string;
  }>;
  /** POST /convert bodies: the time one may take, the slowest pace accepted, the bytes all uploads of a process may hold. */
  upload: Readonly<{ timeoutMs: number; minBytesPerSec: number; maxInflightBytes: number }>;
  /** renderer: the Lottie renderer the pool threads use (lottie-web needs the optional node-canvas). */
  /** idleTimeoutMs: a thread with no task for this long exits (the next task starts one). */
  pool: Readonly<{ threads: number; queueMax: number; renderer: RendererName; idleTimeoutMs: number }>;
  /** setTtlMs: how long a worker keeps a sticker set's listing (getStickerSet). */
  cache: Readonly<{ ttlSeconds: number; memoryBytes: number; filePathTtlMs: number; setTtlMs: number }>;
  /** Set archives: most stickers in a set served as one, its deadline, its stickers converted at once. */
  archive: Readonly<{ maxStickers: number; timeoutMs: number; concurrency: number }>;
  /** Grids (a set's first frames, POST /stickers/combine): most stickers, most pixels. Tiles are made as an archive's stickers are. */
  grid: Readonly<{ maxStickers: number; maxPixels: number }>;
  /** GET / serves the preview page (default: on, unless URL signing is on: the page cannot sign). */
  previewEnabled: boolean;
  /** How long custom emoji requests wait to share one getCustomEmojiStickers call. */
  customEmoji: Readonly<{ batchMs: number }>;
  /** The disk tier, shared by every worker of the host; undefined when DISK_CACHE_ENABLED=false. */
  disk: DiskConfig | undefined;
  /** Undefined when no Redis is configured (or REDIS_ENABLED=false): the in-process tier works alone. */
  redis: RedisConfig | undefined;
  /** conversions: engine runs allowed per client per window (0: only the general limit); failOpen: without Redis, no limit at all. */
  rateLimit: Readonly<{ enabled: boolean; max: number; windowMs: number; conversions: number; failOpen: boolean; workers: number }>;
  trustProxy: boolean;
  adminToken: string | undefined;
  /**
   * keys: with URL signing on, a sticker URL must carry sig made with one of them (several during a
   * rotation; the first signs, in the CLI). onlyPresets: output options only by a preset's name.
   * uploadToken: POST /convert needs it as a bearer token; with signing on and no token, uploads are off.
   */
  access: Readonly<{ signingKeys: readonly string[] | undefined; onlyPresets: boolean; uploadToken: string | undefined }>;
  /** Operator-defined presets: a name for a fixed set of output options (CUSTOM_PRESETS). */
  customPresets: CustomPresets;
  /** port: serve /metrics on this port only (not on the service's). */
  metrics: Readonly<{ enabled: boolean; port: number | undefined }>;
  accessLog: boolean;
  /** /docs, /docs/json and /openapi.json. */
  docsEnabled: boolean;
  /** Origins allowed to call the public GET routes from a browser ('*': any); admin routes never. */
  corsOrigins: readonly string[] | '*';
  /** A worker past either answers 503 with Retry-After (0: that check is off). */
  overload: Readonly<{ maxEventLoopDelayMs: number; maxHeapBytes: number }>;
  /** How long a stopping worker waits for requests under way before it exits anyway. */
  shutdownTimeoutMs: number;
}>;

export type RendererName = (typeof RENDERERS)[number];

export type DiskConfig = Readonly<{
  dir: string;
  maxBytes: number;
  ttlMs: number;
  cleanupIntervalMs: number;
  maxValueBytes: number;
}>;

export type RedisConfig = Readonly<{
  /** One node (url or host/port...) or, with clusterNodes, a Redis Cluster. */
  url?: string;
  host: string;
  port: number;
  password?: string;
  db: number;
  tls: boolean;
  clusterNodes?: ReadonlyArray<{ host: string; port: number }>;
  keyPrefix: string;
  connections: number;
  maxValueBytes: number;
  commandTimeoutMs: number;
  /** All the Redis commands of one request together. */
  requestBudgetMs: number;
  /** After a command times out, Redis is skipped for this long (then tried again). */
  breakerMs: number;
}>;

const parseSettings = (env: Record<string, string | undefined>) => readSettings(schema, env);

/** Pure: environment in, frozen typed Config out, or a ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  let e: ReturnType<typeof parseSettings>;
  try {
    e = parseSettings(env);
  } catch (err) {
    if (!(err instanceof SettingError)) throw err;
    // Secrets are named but never echoed: this line goes to logs.
    const shown = SECRET_SETTINGS.has(err.setting) ? '<hidden>' : JSON.stringify(err.value);
    throw new ConfigError(`Invalid configuration: ${err.setting}=${shown}: expected ${err.expected}`);
  }
  const workers = e.WORKERS;
  // Node refuses a headers timeout longer than the request timeout.
  if (e.SERVER_HEADERS_TIMEOUT_SEC > e.SERVER_REQUEST_TIMEOUT_SEC) {
    throw new ConfigError(`Invalid configuration: SERVER_HEADERS_TIMEOUT_SEC=${e.SERVER_HEADERS_TIMEOUT_SEC} exceeds SERVER_REQUEST_TIMEOUT_SEC=${e.SERVER_REQUEST_TIMEOUT_SEC}`);
  }
  const signingKeys = e.URL_SIGNING_KEY ? e.URL_SIGNING_KEY.split(',').map((k) => k.trim()).filter(Boolean) : undefined;
  // A short key is guessable offline from one signed URL; the key itself is never echoed.
  if (signingKeys?.some((k) => k.length < MIN_SIGNING_KEY_LENGTH)) {
    throw new ConfigError(`Invalid configuration: URL_SIGNING_KEY=<hidden>: expected comma-separated keys of at least ${MIN_SIGNING_KEY_LENGTH} characters each`);
  }
  const customPresets = customPresetList(e.CUSTOM_PRESETS ?? '');
  const threads = e.MAX_PROCESS_WORKERS ?? Math.max(1, Math.round(cpus / workers));
  const sec = 1000;
  const apiBaseUrl = stripSlashes(e.TELEGRAM_API_BASE_URL);
  return deepFreeze({
    telegram: {
      botToken: e.TELEGRAM_BOT_TOKEN || undefined,
      apiBaseUrl,
      downloadBaseUrl: e.TELEGRAM_DOWNLOAD_BASE_URL ? stripSlashes(e.TELEGRAM_DOWNLOAD_BASE_URL) : `${apiBaseUrl}/file/bot`,
      timeoutMs: e.TELEGRAM_TIMEOUT_SEC * sec,
      maxConcurrentRequests: e.TELEGRAM_MAX_CONCURRENT_REQUESTS,
      globalRps: e.TELEGRAM_GLOBAL_RPS,
      connectionsPerOrigin: Math.min(e.HTTP_MAX_CONNECTIONS_PER_HOST, e.HTTP_MAX_CONNECTIONS),
      maxRetries: e.MAX_RETRIES,
      baseRetryDelayMs: e.BASE_RETRY_DELAY * sec,
      maxRetryDelayMs: Math.max(e.MAX_RETRY_DELAY, e.BASE_RETRY_DELAY) * sec,
    },
    server: {
      host: e.SERVER_HOST,
      port: e.SERVER_PORT,
      logLevel: e.LOG_LEVEL,
      workers,
      headersTimeoutMs: e.SERVER_HEADERS_TIMEOUT_SEC * sec,
      requestTimeoutMs: e.SERVER_REQUEST_TIMEOUT_SEC * sec,
      keepAliveTimeoutMs: e.SERVER_KEEPALIVE_TIMEOUT_SEC * sec,
    },
    limits: {
      maxFileBytes: mib(e.MAX_FILE_SIZE_MB),
      maxLottieBytes: e.MAX_LOTTIE_BYTES,
      maxLottieDimension: e.MAX_LOTTIE_DIMENSION,
      maxFrames: e.MAX_FRAMES,
      endpointTimeoutMs: e.ENDPOINT_TIMEOUT_SEC * sec,
      conversionTimeoutMs: e.CONVERSION_TIMEOUT_SEC * sec,
      maxOutputSize: e.MAX_OUTPUT_SIZE,
      maxUploadBytes: e.UPLOAD_ENABLED ? mib(e.MAX_UPLOAD_MB) : undefined,
      ffmpegPath: e.FFMPEG_PATH,
    },
    upload: { timeoutMs: e.UPLOAD_TIMEOUT_SEC * sec, minBytesPerSec: e.UPLOAD_MIN_BYTES_PER_SEC, maxInflightBytes: mib(e.UPLOAD_MAX_INFLIGHT_MB) },
    pool: { threads, queueMax: e.RENDER_QUEUE_MAX, renderer: e.RENDERER, idleTimeoutMs: e.POOL_IDLE_TIMEOUT_SEC * sec },
    cache: {
      ttlSeconds: Math.round(e.CACHE_TTL_DAYS * 86400),
      memoryBytes: mib(e.MEMORY_CACHE_MB),
      filePathTtlMs: 55 * 60 * sec, // Telegram promises a file_path for at least an hour
      setTtlMs: e.STICKER_SET_TTL_SEC * sec,
    },
    disk: e.DISK_CACHE_ENABLED
      ? {
          dir: e.DISK_CACHE_DIR,
          maxBytes: mib(e.DISK_CACHE_MAX_SIZE_MB),
          ttlMs: e.DISK_CACHE_TTL_DAYS * 86400 * sec,
          cleanupIntervalMs: e.DISK_CACHE_CLEANUP_INTERVAL_HOURS * 3600 * sec,
          maxValueBytes: mib(e.DISK_MAX_FILE_SIZE_MB),
        }
      : undefined,
    redis:
      e.REDIS_ENABLED && (e.REDIS_URL || e.REDIS_HOST || e.REDIS_CLUSTER_NODES)
        ? {
            url: e.REDIS_URL,
            host: e.REDIS_HOST ?? '127.0.0.1',
            port: e.REDIS_PORT,
            password: e.REDIS_PASSWORD || undefined,
            db: e.REDIS_DATABASE,
            tls: e.REDIS_SSL_ENABLED,
            clusterNodes: e.REDIS_CLUSTER_NODES,
            keyPrefix: e.REDIS_KEY_PREFIX,
            connections: e.REDIS_MAX_CONNECTIONS,
            maxValueBytes: mib(e.REDIS_MAX_FILE_SIZE_MB),
            commandTimeoutMs: e.REDIS_TIMEOUT_MS,
            requestBudgetMs: e.REDIS_REQUEST_BUDGET_MS,
            breakerMs: e.REDIS_BREAKER_SEC * sec,
          }
        : undefined,
    rateLimit: {
      enabled: e.RATE_LIMIT_ENABLED,
      max: e.RATE_LIMIT_REQUESTS,
      windowMs: e.RATE_LIMIT_WINDOW_SEC * sec,
      conversions: e.RATE_LIMIT_CONVERSIONS,
      failOpen: e.RATE_LIMIT_FAIL_OPEN,
      workers,
    },
    trustProxy: e.TRUST_PROXY,
    adminToken: e.ADMIN_TOKEN || undefined,
    customPresets,
    archive: { maxStickers: e.MAX_SET_STICKERS, timeoutMs: e.ARCHIVE_TIMEOUT_SEC * sec, concurrency: e.ARCHIVE_CONCURRENCY },
    grid: { maxStickers: e.MAX_GRID_STICKERS, maxPixels: e.MAX_GRID_PIXELS },
    customEmoji: { batchMs: e.CUSTOM_EMOJI_BATCH_MS },
    previewEnabled: e.PREVIEW_ENABLED ?? e.URL_SIGNING_KEY === undefined,
    access: { signingKeys: signingKeys?.length ? signingKeys : undefined, onlyPresets: e.ONLY_PRESETS, uploadToken: e.UPLOAD_TOKEN || undefined },
    metrics: { enabled: e.METRICS_ENABLED, port: e.METRICS_PORT },
    accessLog: e.ACCESS_LOG,
    docsEnabled: e.DOCS_ENABLED,
    corsOrigins: e.CORS_ORIGINS === '*' ? '*' : e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
    overload: { maxEventLoopDelayMs: e.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS, maxHeapBytes: mib(e.OVERLOAD_MAX_HEAP_MB) },
    // Past the longest deadline by default, so a request under way is answered before its worker exits.
    shutdownTimeoutMs: (e.SHUTDOWN_TIMEOUT_SEC ?? Math.max(e.ENDPOINT_TIMEOUT_SEC, e.CONVERSION_TIMEOUT_SEC) + 5) * sec,
  });
}

/** Operator-defined presets: a name standing for a fixed set of output options (its query, as in a URL). */
export type CustomPresets = Readonly<Record<string, Readonly<Record<string, string>>>>;

const CUSTOM_PRESET_NAME = /^[a-z0-9_]{1,32}$/;

/**
 * CUSTOM_PRESETS, `name=query;name=query` (`thumb=format=webp&size=128`): names and queries read here; the
 * options are checked as a request's are, at start (sticker/variant.ts checkCustomPresets), since this
 * file loads no request parsing.
 */
function customPresetList(text: string): CustomPresets {
  const presets: Record<string, Record<string, string>> = {};
  for (const item of text.split(';').map((s) => s.trim()).filter(Boolean)) {
    const at = item.indexOf('=');
    const name = at < 0 ? item : item.slice(0, at);
    if (!CUSTOM_PRESET_NAME.test(name) || presets[name]) {
      throw new ConfigError(`Invalid configuration: CUSTOM_PRESETS: "${name}" is ${presets[name] ? 'given twice' : 'not a preset name (a-z, 0-9 and _, up to 32)'}`);
    }
    presets[name] = Object.fromEntries(new URLSearchParams(at < 0 ? '' : item.slice(at + 1)));
  }
  return presets;
}

/** process.env overlaid on a `.env` file in the working directory, if one exists (real env wins). */
export function readEnvironment(cwd = process.cwd()): Record<string, string | undefined> {
  let fromFile: Record<string, string> = {};
  try {
    fromFile = parseEnv(readFileSync(`${cwd}/.env`, 'utf8')) as Record<string, string>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { ...fromFile, ...process.env };
}

const stripSlashes = (u: string) => u.replace(/\/+$/, '');
/** A setting in MB as bytes. */
const mib = (mb: number) => Math.floor(mb * 1024 * 1024);

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v);
  return Object.freeze(o);
}

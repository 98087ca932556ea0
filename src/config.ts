import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { z } from 'zod';

/** Raised when the environment cannot be turned into a Config; the message is one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const seconds = (min: number, max: number) => z.coerce.number().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', 'TRUE', 'FALSE', 'True', 'False'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v.toLowerCase()));
const url = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ''));
// The old service took Python's level names; pino wants its own.
const logLevel = z
  .string()
  .transform((v) => v.toLowerCase())
  .transform((v) => (v === 'warning' ? 'warn' : v === 'critical' ? 'fatal' : v))
  .pipe(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']));

const cpus = availableParallelism();
const SECRET_SETTINGS = new Set(['TELEGRAM_BOT_TOKEN', 'REDIS_PASSWORD', 'REDIS_URL', 'ADMIN_TOKEN']);

/** The Lottie renderers the pool threads can use (RENDERER, and the CLI's --renderer). */
export const RENDERERS = ['dotlottie', 'lottie-web'] as const;

// Env names are the old service's; each entry is the variable exactly as an operator writes it.
const schema = z.object({
  TELEGRAM_BOT_TOKEN: z.string().trim().optional(),
  TELEGRAM_API_BASE_URL: url.default('https://api.telegram.org'),
  TELEGRAM_DOWNLOAD_BASE_URL: url.optional(),
  TELEGRAM_TIMEOUT_SEC: seconds(0.1, 600).default(30),
  TELEGRAM_MAX_CONCURRENT_REQUESTS: int(1, 10_000).default(32),
  TELEGRAM_GLOBAL_RPS: int(0, 100_000).default(0),
  SERVER_HOST: z.string().min(1).default('0.0.0.0'),
  SERVER_PORT: int(0, 65535).default(8081),
  LOG_LEVEL: logLevel.default('info'),
  WORKERS: int(1, 256).default(cpus),
  MAX_FILE_SIZE_MB: seconds(0.001, 2000).default(20),
  ENDPOINT_TIMEOUT_SEC: seconds(0.1, 3600).default(30),
  CONVERSION_TIMEOUT_SEC: seconds(0.1, 3600).default(30),
  MAX_PROCESS_WORKERS: int(1, 256).optional(),
  CACHE_TTL_DAYS: seconds(0, 3650).default(7),
  HTTP_MAX_CONNECTIONS: int(1, 10_000).default(100),
  HTTP_MAX_CONNECTIONS_PER_HOST: int(1, 10_000).default(32),
  MAX_RETRIES: int(0, 20).default(3),
  BASE_RETRY_DELAY: seconds(0, 600).default(1),
  MAX_RETRY_DELAY: seconds(0, 3600).default(30),
  MEMORY_CACHE_MB: seconds(0, 1_000_000).default(64),
  MAX_LOTTIE_BYTES: int(1024, 1024 ** 3).default(16 * 1024 * 1024),
  MAX_LOTTIE_DIMENSION: int(16, 65_536).default(4096),
  MAX_FRAMES: int(1, 1_000_000).default(1800),
  RENDER_QUEUE_MAX: int(0, 1_000_000).default(256),
  POOL_IDLE_TIMEOUT_SEC: seconds(0.1, 86_400).default(30),
  MAX_OUTPUT_SIZE: int(16, 4096).default(1024),
  UPLOAD_ENABLED: bool.default(true),
  FFMPEG_PATH: z.string().min(1).default('ffmpeg'),
  RENDERER: z.enum(RENDERERS).default('dotlottie'),
  MAX_UPLOAD_MB: seconds(0.001, 512).default(10),
  REDIS_ENABLED: bool.default(true),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  REDIS_HOST: z.string().min(1).optional(),
  REDIS_PORT: int(1, 65535).default(6379),
  REDIS_PASSWORD: z.string().optional(),
  REDIS_DATABASE: int(0, 1024).default(0),
  REDIS_SSL_ENABLED: bool.default(false),
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((v) => v.split(',').map((n) => n.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'host:port')).min(1))
    .optional(),
  REDIS_KEY_PREFIX: z.string().min(1).max(64).default('sticker:'),
  REDIS_MAX_CONNECTIONS: int(1, 64).default(1),
  REDIS_MAX_FILE_SIZE_MB: seconds(0, 512).default(10),
  REDIS_TIMEOUT_MS: int(10, 60_000).default(500),
  RATE_LIMIT_ENABLED: bool.default(false),
  RATE_LIMIT_REQUESTS: int(1, 10_000_000).default(100),
  RATE_LIMIT_WINDOW_SEC: seconds(1, 86_400).default(60),
  TRUST_PROXY: bool.default(false),
  ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
});

/** Every environment variable the service reads (config.env.example and the README list each one). */
export const settingNames: readonly string[] = Object.keys(schema.shape);

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
  server: Readonly<{ host: string; port: number; logLevel: string; workers: number }>;
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
  /** renderer: the Lottie renderer the pool threads use (lottie-web needs the optional node-canvas). */
  /** idleTimeoutMs: a thread with no task for this long exits (the next task starts one). */
  pool: Readonly<{ threads: number; queueMax: number; renderer: RendererName; idleTimeoutMs: number }>;
  cache: Readonly<{ ttlSeconds: number; memoryBytes: number; filePathTtlMs: number }>;
  /** Undefined when no Redis is configured (or REDIS_ENABLED=false): the in-process tier works alone. */
  redis: RedisConfig | undefined;
  rateLimit: Readonly<{ enabled: boolean; max: number; windowMs: number }>;
  trustProxy: boolean;
  adminToken: string | undefined;
}>;

export type RendererName = (typeof RENDERERS)[number];

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
}>;

/** Pure: environment in, frozen typed Config out, or a ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty value means "not set", as it did for the old service's pydantic settings.
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') cleaned[key] = v;
  }
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    // Secrets are named but never echoed: this line goes to logs.
    const shown = SECRET_SETTINGS.has(name) ? '<hidden>' : JSON.stringify(cleaned[name]);
    throw new ConfigError(`Invalid configuration: ${name}=${shown}: ${describe(issue)}`);
  }
  const e = parsed.data;
  const workers = e.WORKERS;
  const threads = e.MAX_PROCESS_WORKERS ?? Math.max(1, Math.round(cpus / workers));
  const sec = 1000;
  return deepFreeze({
    telegram: {
      botToken: e.TELEGRAM_BOT_TOKEN || undefined,
      apiBaseUrl: e.TELEGRAM_API_BASE_URL,
      downloadBaseUrl: e.TELEGRAM_DOWNLOAD_BASE_URL ?? `${e.TELEGRAM_API_BASE_URL}/file/bot`,
      timeoutMs: e.TELEGRAM_TIMEOUT_SEC * sec,
      maxConcurrentRequests: e.TELEGRAM_MAX_CONCURRENT_REQUESTS,
      globalRps: e.TELEGRAM_GLOBAL_RPS,
      connectionsPerOrigin: Math.min(e.HTTP_MAX_CONNECTIONS_PER_HOST, e.HTTP_MAX_CONNECTIONS),
      maxRetries: e.MAX_RETRIES,
      baseRetryDelayMs: e.BASE_RETRY_DELAY * sec,
      maxRetryDelayMs: Math.max(e.MAX_RETRY_DELAY, e.BASE_RETRY_DELAY) * sec,
    },
    server: { host: e.SERVER_HOST, port: e.SERVER_PORT, logLevel: e.LOG_LEVEL, workers },
    limits: {
      maxFileBytes: Math.floor(e.MAX_FILE_SIZE_MB * 1024 * 1024),
      maxLottieBytes: e.MAX_LOTTIE_BYTES,
      maxLottieDimension: e.MAX_LOTTIE_DIMENSION,
      maxFrames: e.MAX_FRAMES,
      endpointTimeoutMs: e.ENDPOINT_TIMEOUT_SEC * sec,
      conversionTimeoutMs: e.CONVERSION_TIMEOUT_SEC * sec,
      maxOutputSize: e.MAX_OUTPUT_SIZE,
      maxUploadBytes: e.UPLOAD_ENABLED ? Math.floor(e.MAX_UPLOAD_MB * 1024 * 1024) : undefined,
      ffmpegPath: e.FFMPEG_PATH,
    },
    pool: { threads, queueMax: e.RENDER_QUEUE_MAX, renderer: e.RENDERER, idleTimeoutMs: e.POOL_IDLE_TIMEOUT_SEC * sec },
    cache: {
      ttlSeconds: Math.round(e.CACHE_TTL_DAYS * 86400),
      memoryBytes: Math.floor(e.MEMORY_CACHE_MB * 1024 * 1024),
      filePathTtlMs: 55 * 60 * sec, // Telegram promises a file_path for at least an hour
    },
    redis:
      e.REDIS_ENABLED && (e.REDIS_URL || e.REDIS_HOST || e.REDIS_CLUSTER_NODES)
        ? {
            url: e.REDIS_URL,
            host: e.REDIS_HOST ?? '127.0.0.1',
            port: e.REDIS_PORT,
            password: e.REDIS_PASSWORD || undefined,
            db: e.REDIS_DATABASE,
            tls: e.REDIS_SSL_ENABLED,
            clusterNodes: e.REDIS_CLUSTER_NODES?.map((n) => {
              const i = n.lastIndexOf(':');
              return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
            }),
            keyPrefix: e.REDIS_KEY_PREFIX,
            connections: e.REDIS_MAX_CONNECTIONS,
            maxValueBytes: Math.floor(e.REDIS_MAX_FILE_SIZE_MB * 1024 * 1024),
            commandTimeoutMs: e.REDIS_TIMEOUT_MS,
          }
        : undefined,
    rateLimit: { enabled: e.RATE_LIMIT_ENABLED, max: e.RATE_LIMIT_REQUESTS, windowMs: e.RATE_LIMIT_WINDOW_SEC * sec },
    trustProxy: e.TRUST_PROXY,
    adminToken: e.ADMIN_TOKEN || undefined,
  });
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

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      return issue.origin === 'string' ? `expected ${issue.message}` : `expected a number >= ${String(issue.minimum)}`;
    case 'too_big':
      return `expected a number <= ${String(issue.maximum)}`;
    case 'invalid_type':
      return `expected ${issue.expected === 'number' ? 'a number' : issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'url' ? 'expected a URL with an allowed scheme' : `expected ${issue.message}`;
    default:
      return issue.message;
  }
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v);
  return Object.freeze(o);
}

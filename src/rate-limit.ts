import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import type { Config } from './config.js';
import { errors } from './errors.js';
import type { RedisTier } from './redis/tier.js';

type Done = (err: Error | null, result?: { current: number; ttl: number }) => void;
type RouteInfo = { routeInfo?: { method?: string; url?: string } };

/** Charges a client one conversion; throws RATE_LIMITED past RATE_LIMIT_CONVERSIONS. */
export type ConversionLimit = (req: FastifyRequest) => Promise<void>;

declare module 'fastify' {
  interface FastifyInstance {
    /** Undefined when conversions have no limit of their own. */
    limitConversion: ConversionLimit | undefined;
  }
}

/**
 * Where the limiter counts: in Redis while it is reachable (one budget for every worker and replica),
 * otherwise in this process with its share of the budget, RATE_LIMIT_REQUESTS / WORKERS, so the whole
 * host keeps to the budget (each process reports its count scaled up by WORKERS). With failOpen, a
 * configured Redis being down lets everything through instead.
 */
function storeClass(redis: RedisTier | undefined, workers: number, failOpen: boolean, nameSpace: string) {
  const RedisStore = require('@fastify/rate-limit/store/RedisStore') as new (ce: boolean, eb: boolean, client: unknown, key: string) => FastifyRateLimitStore;
  const LocalStore = require('@fastify/rate-limit/store/LocalStore') as new (ce: boolean, eb: boolean, cache?: number) => FastifyRateLimitStore;

  return class SharedOrLocalStore implements FastifyRateLimitStore {
    readonly #shared: FastifyRateLimitStore | undefined;
    readonly #local: FastifyRateLimitStore;

    constructor(_params?: unknown, key = nameSpace) {
      this.#shared = redis && new RedisStore(false, false, redis.sharedClient, key);
      this.#local = new LocalStore(false, false);
    }

    incr(key: string, done: Done, timeWindow: number, max: number): void {
      if (!this.#shared || !redis!.available) return this.#fallback(key, done, timeWindow, max);
      this.#shared.incr(key, (err, res) => (err ? this.#fallback(key, done, timeWindow, max) : done(null, res)), timeWindow, max);
    }

    #fallback(key: string, done: Done, timeWindow: number, max: number): void {
      if (redis && failOpen) return done(new Error('redis unavailable; RATE_LIMIT_FAIL_OPEN'));
      this.#local.incr(key, (_err, r) => done(null, { current: r!.current * workers, ttl: r!.ttl }), timeWindow, max);
    }

    child(options: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      // The plugin passes the merged limit options, with the route they are for (none for createRateLimit).
      const routeOptions = options as unknown as RouteInfo;
      const route = routeOptions.routeInfo?.url ? `${routeOptions.routeInfo.method}${routeOptions.routeInfo.url}-` : 'conversions-';
      return new SharedOrLocalStore(undefined, `${nameSpace}${route}`);
    }
  };
}

/**
 * Per-client rate limits (RATE_LIMIT_*): every route but /health* and /metrics, and conversions (engine runs
 * and uploads) against a stricter budget of their own.
 */
export async function limitRate(app: FastifyInstance, config: Config, redis: RedisTier | undefined): Promise<void> {
  const { enabled, max, windowMs, conversions, failOpen, workers } = config.rateLimit;
  app.decorate('limitConversion', undefined);
  if (!enabled) return;
  const rateLimit = (require('@fastify/rate-limit') as typeof import('@fastify/rate-limit')).default;
  const window = `${windowMs / 1000} s`;
  await app.register(rateLimit, {
    max,
    timeWindow: windowMs,
    store: storeClass(redis, workers, failOpen, `${config.redis?.keyPrefix ?? 'sticker:'}rl:`),
    // Only a fail-open store reports errors, and those let the request through.
    skipOnError: true,
    allowList: (req) => req.url.startsWith('/health') || req.url.startsWith('/metrics'),
    errorResponseBuilder: () => errors.rateLimited(max, window),
  });
  if (conversions === 0) return;
  const check = app.createRateLimit({ max: conversions, timeWindow: windowMs });
  app.limitConversion = async (req) => {
    const r = await check(req);
    if (!r.isAllowed && r.isExceeded) throw errors.conversionsLimited(conversions, window, r.ttlInSeconds);
  };
}

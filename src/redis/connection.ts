import { Redis, Cluster, type RedisOptions, type ClusterOptions } from 'ioredis';
import type { RedisConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { StoreBudget } from '../model/tiers.js';

export type Client = Redis | Cluster;

/** A Lua script registered once on every connection, under its name (ioredis defineCommand). */
export interface Script {
  numberOfKeys: number;
  lua: string;
}

/** Reconnection back-off: 100 ms doubling, at most 5 s (single node and cluster alike). */
const retryDelay = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5000);

/**
 * The connections to Redis (or a Redis Cluster) and what every command needs: bounded by REDIS_TIMEOUT_MS,
 * failing at once while disconnected (no offline queue), and any failure turned into the caller's fallback,
 * so Redis trouble degrades the service instead of failing requests. Plus one subscriber connection.
 */
export class RedisConnection {
  errors = 0;
  readonly cfg: RedisConfig;
  readonly sub: Client;
  readonly #log: Logger;
  readonly #clients: Client[];
  #next = 0;
  #wasAvailable = false;
  #everConnected = false;
  #closing = false;
  /** Commands are skipped until then (performance.now()) after one timed out: REDIS_BREAKER_SEC. */
  #skipUntil = 0;

  constructor(cfg: RedisConfig, logger: Logger, scripts: Record<string, Script>) {
    this.cfg = cfg;
    this.#log = logger;
    this.#clients = Array.from({ length: cfg.connections }, () => this.#connect());
    for (const c of this.#clients) for (const [name, s] of Object.entries(scripts)) c.defineCommand(name, s);
    // Subscriptions need a connection of their own, which may queue its SUBSCRIBE until connected.
    this.sub = this.#connect(true);
  }

  /** Every key and channel starts with REDIS_KEY_PREFIX. */
  key(rest: string): string {
    return `${this.cfg.keyPrefix}${rest}`;
  }

  /** Connected, and not being skipped after a timeout. */
  get available(): boolean {
    return !this.skipping && this.#clients.some((c) => c.status === 'ready');
  }

  /** Whether commands are skipped for now because one timed out. */
  get skipping(): boolean {
    return performance.now() < this.#skipUntil;
  }

  /** The first connection, for @fastify/rate-limit's store. */
  get shared(): Client {
    return this.#clients[0];
  }

  get isCluster(): boolean {
    return this.#clients[0] instanceof Cluster;
  }

  /** Waits (at most ms) for every connection and the given promises; false when time ran out. */
  async waitReady(ms: number, also: Array<Promise<unknown>> = []): Promise<boolean> {
    const ready = Promise.all([...also, ...this.#clients.map((c) => (c.status === 'ready' ? Promise.resolve() : new Promise<void>((r) => c.once('ready', () => r()))))]);
    return within(ready.then(() => true), ms, false);
  }

  /**
   * Runs fn on a ready connection (round-robin); fallback when none is ready, the command fails, Redis is
   * being skipped after a timeout, or the request's budget runs out first (what it took is spent from it).
   */
  async safe<T>(fn: (c: Client) => Promise<T>, fallback: T, budget?: StoreBudget): Promise<T> {
    const c = this.skipping || (budget && budget.leftMs <= 0) ? undefined : this.#pick();
    if (!c) {
      this.errors++;
      return fallback;
    }
    const started = performance.now();
    try {
      return budget ? await within(fn(c), budget.leftMs, fallback) : await fn(c);
    } catch (err) {
      this.errors++;
      if ((err as Error).message === 'Command timed out') this.#skip();
      this.#log.debug({ err: (err as Error).message }, 'redis command failed');
      return fallback;
    } finally {
      if (budget) budget.leftMs -= performance.now() - started;
    }
  }

  /** A timed-out command: Redis is skipped for REDIS_BREAKER_SEC (then the next command tries it again). */
  #skip(): void {
    if (this.cfg.breakerMs <= 0 || this.skipping) return;
    this.#skipUntil = performance.now() + this.cfg.breakerMs;
    this.#log.warn({ seconds: this.cfg.breakerMs / 1000 }, 'redis timed out: skipping it for a while (in-process tier and Telegram only)');
  }

  /** Every master (one for a single node). */
  masters(): Redis[] {
    const c = this.#pick() ?? this.#clients[0];
    return c instanceof Cluster ? c.nodes('master') : [c];
  }

  /** SCAN of every master for keys matching pattern, a page at a time. */
  async scan(pattern: string, page: (node: Redis, keys: string[]) => Promise<void>): Promise<void> {
    for (const node of this.masters()) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await page(node, keys);
      } while (cursor !== '0');
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#clients, this.sub].map((c) => c.quit().catch(() => c.disconnect())));
  }

  #connect(subscriber = false): Client {
    const cfg = this.cfg;
    const common: RedisOptions = {
      password: cfg.password,
      db: cfg.db,
      tls: cfg.tls ? {} : undefined,
      connectTimeout: Math.max(1000, cfg.commandTimeoutMs * 4),
      // Subscriptions are kept across reconnects by ioredis; other commands fail fast while disconnected.
      enableOfflineQueue: subscriber,
      commandTimeout: subscriber ? undefined : cfg.commandTimeoutMs,
      maxRetriesPerRequest: subscriber ? null : 0,
      retryStrategy: retryDelay,
      lazyConnect: false,
      // Commands issued in the same tick go out in one write: one syscall for many concurrent lookups.
      enableAutoPipelining: !subscriber,
    };
    let client: Client;
    if (cfg.clusterNodes) {
      const opts: ClusterOptions = {
        redisOptions: { ...common, db: undefined },
        enableOfflineQueue: subscriber,
        enableAutoPipelining: !subscriber,
        clusterRetryStrategy: retryDelay,
      };
      client = new Cluster(cfg.clusterNodes.map((n) => ({ host: n.host, port: n.port })), opts);
    } else if (cfg.url) {
      client = new Redis(cfg.url, common);
    } else {
      client = new Redis({ ...common, host: cfg.host, port: cfg.port });
    }
    client.on('error', () => this.#noteAvailability()); // reported once per change of state below
    client.on('ready', () => this.#noteAvailability());
    client.on('end', () => this.#noteAvailability());
    client.on('close', () => this.#noteAvailability());
    return client;
  }

  #noteAvailability(): void {
    const now = this.available;
    if (now === this.#wasAvailable || this.#closing) return;
    this.#wasAvailable = now;
    if (now) this.#log.info(this.#everConnected ? 'redis available again: shared cache tier back in use' : 'redis connected');
    else this.#log.warn('redis unavailable: serving from the in-process tier and Telegram until it returns');
    this.#everConnected ||= now;
  }

  #pick(): Client | undefined {
    for (let i = 0; i < this.#clients.length; i++) {
      const c = this.#clients[this.#next++ % this.#clients.length];
      if (c.status === 'ready') return c;
    }
    return undefined;
  }
}

/** p's value, or fallback if it takes longer than ms (p goes on; its outcome is dropped). */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  if (ms >= 2 ** 31) return p; // beyond what a timer can hold: no budget to speak of
  let timer: NodeJS.Timeout;
  p.catch(() => {}); // settled after the race was lost: nobody waits for it
  return Promise.race([p, new Promise<T>((r) => (timer = setTimeout(r, ms, fallback)))]).finally(() => clearTimeout(timer));
}

/** pattern with Redis glob characters escaped, to match it literally. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

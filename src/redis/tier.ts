import type { RedisConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { RedisConnection, type Client } from './connection.js';
import { RedisEntries } from './entries.js';
import { RedisFetchLock, RELEASE_LOCK } from './fetch-lock.js';
import { TelegramBudget, TAKE_BUDGET } from './budget.js';
import { SharedFilePaths } from './files.js';
import { RedisEvents } from './events.js';
import { clearOurKeys, serverStats } from './admin.js';
import type { StickerEntry } from '../model/entry.js';
import type { SharedTier, StoreBudget, StoredEntry } from '../model/tiers.js';

export interface RedisCounters {
  hits: number;
  misses: number;
  errors: number;
  writes: number;
  skippedTooLarge: number;
}

/**
 * The shared tier: one set of connections, and a small module for each thing the service keeps in Redis.
 * Every command is bounded and every failure is a miss (connection.ts): Redis trouble degrades the service
 * to the in-process tier and Telegram, it never fails a request.
 */
export class RedisTier implements SharedTier {
  readonly name = 'redis';
  readonly #conn: RedisConnection;
  readonly entries: RedisEntries;
  readonly fetchLock: RedisFetchLock;
  readonly budget: TelegramBudget;
  readonly files: SharedFilePaths;
  /** The bus between every worker of every replica. */
  readonly events: RedisEvents;

  constructor(cfg: RedisConfig, opts: { ttlSeconds: number; logger: Logger }) {
    this.#conn = new RedisConnection(cfg, opts.logger, { releaseLock: RELEASE_LOCK, takeBudget: TAKE_BUDGET });
    this.entries = new RedisEntries(this.#conn, opts.ttlSeconds);
    this.fetchLock = new RedisFetchLock(this.#conn);
    this.budget = new TelegramBudget(this.#conn);
    this.files = new SharedFilePaths(this.#conn);
    this.events = new RedisEvents(this.#conn);
  }

  get available(): boolean {
    return this.#conn.available;
  }

  /** A client for @fastify/rate-limit's store, so the limit is one budget across workers and replicas. */
  get sharedClient(): Client {
    return this.#conn.shared;
  }

  get counters(): RedisCounters {
    return { ...this.entries.counters, errors: this.#conn.errors };
  }

  /**
   * Waits (at most ms) for the connections and the event subscription, so a starting server uses Redis from
   * its first request; if Redis is not there by then, the server starts degraded.
   */
  waitReady(ms: number): Promise<boolean> {
    return this.#conn.waitReady(ms, [this.events.subscribed]);
  }

  get(fileId: string, variant?: string, budget?: StoreBudget): Promise<StoredEntry | undefined> {
    return this.entries.get(fileId, variant, budget);
  }

  getByUid(fileId: string, uid: string, budget?: StoreBudget): Promise<StoredEntry | undefined> {
    return this.entries.getByUid(fileId, uid, budget);
  }

  set(fileId: string, entry: StickerEntry, variant?: string, budget?: StoreBudget): Promise<void> {
    return this.entries.set(fileId, entry, variant, budget);
  }

  /** Skipped for a while after a command timed out (REDIS_BREAKER_SEC). */
  get skipping(): boolean {
    return this.#conn.skipping;
  }

  /** Removes every variant of the sticker behind fileId, its id mapping and its file_path. Returns its file_unique_id. */
  delete(fileId: string): Promise<string | undefined> {
    return this.entries.delete(fileId, [this.files.key(fileId)]);
  }

  /** Removes our keys only (never FLUSHDB); returns how many went. */
  clear(): Promise<number> {
    this.entries.forgetIds();
    return clearOurKeys(this.#conn);
  }

  async stats(): Promise<Record<string, unknown>> {
    return { enabled: true, available: this.available, ...(await serverStats(this.#conn)) };
  }

  close(): Promise<void> {
    return this.#conn.close();
  }
}

import { Redis, Cluster, type RedisOptions, type ClusterOptions } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { RedisConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { StickerEntry } from '../model/entry.js';
import type { BusEvent, FetchFailure } from '../model/events.js';
import type { TelegramFile } from '../model/telegram-file.js';
import { decodeEntry, encodeEntry } from './codec.js';

type Client = Redis | Cluster;

export interface RedisCounters {
  hits: number;
  misses: number;
  errors: number;
  writes: number;
  skippedTooLarge: number;
}

// Releases the lock only if it is still ours; with a failure given, records it first in the same atomic
// step, so whoever sees the lock gone also sees why (keys share the {fileId} hash tag for Redis Cluster).
const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then
  if ARGV[2] ~= '' then redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
  return redis.call('del', KEYS[1])
end
return 0`;
const FAILURE_TTL_MS = 2000;
// One slot of a per-second budget: a refused call does not count, so the counter is exactly the calls let
// through in that second.
const TAKE_BUDGET = `local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('expire', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then redis.call('decr', KEYS[1]) return 0 end
return 1`;
const DEFAULT_VARIANT = 'default'; // the sticker as stored: TGS gzip bytes, or the file as Telegram has it

/**
 * The shared cache tier. Every command is bounded by REDIS_TIMEOUT_MS and fails at once while
 * disconnected (no offline queue), and every failure is swallowed here as a miss: Redis trouble
 * degrades the service to the in-process tier and Telegram, it never fails a request.
 */
export class RedisTier {
  readonly counters: RedisCounters = { hits: 0, misses: 0, errors: 0, writes: 0, skippedTooLarge: 0 };
  readonly #cfg: RedisConfig;
  readonly #ttlSeconds: number;
  readonly #log: Logger;
  readonly #clients: Client[];
  readonly #sub: Client;
  readonly #handlers: Array<(e: BusEvent) => void> = [];
  readonly #channel: string;
  #next = 0;
  readonly #uids = new Map<string, string>();
  #wasAvailable = false;
  #everConnected = false;
  #closing = false;

  constructor(cfg: RedisConfig, opts: { ttlSeconds: number; logger: Logger }) {
    this.#cfg = cfg;
    this.#ttlSeconds = opts.ttlSeconds;
    this.#log = opts.logger;
    this.#channel = `${cfg.keyPrefix}events`;
    this.#clients = Array.from({ length: cfg.connections }, () => this.#connect());
    for (const c of this.#clients) {
      c.defineCommand('releaseLock', { numberOfKeys: 2, lua: RELEASE_LOCK });
      c.defineCommand('takeBudget', { numberOfKeys: 1, lua: TAKE_BUDGET });
    }
    // Subscriptions need a connection of their own, which may queue its SUBSCRIBE until connected.
    this.#sub = this.#connect(true);
    this.#sub.on('message', (_ch: string, msg: string) => this.#dispatch(msg));
    this.#subscribed = this.#sub.subscribe(this.#channel).then(
      () => true,
      () => false,
    );
  }

  readonly #subscribed: Promise<boolean>;

  /**
   * Waits (at most ms) for the first connection and the event subscription, so a starting server uses
   * Redis from its first request; if Redis is not there by then, the server starts degraded.
   */
  async waitReady(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
    const ready = Promise.all([
      this.#subscribed,
      ...this.#clients.map((c) => (c.status === 'ready' ? Promise.resolve() : new Promise<void>((r) => c.once('ready', () => r())))),
    ]).then(() => true);
    try {
      return await Promise.race([ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A client for @fastify/rate-limit's store, so the limit is one budget across workers and replicas. */
  get sharedClient(): Client {
    return this.#clients[0];
  }

  get available(): boolean {
    return this.#clients.some((c) => c.status === 'ready');
  }

  onEvent(handler: (e: BusEvent) => void): void {
    this.#handlers.push(handler);
  }

  async publish(e: BusEvent): Promise<void> {
    await this.#safe(async (c) => c.publish(this.#channel, JSON.stringify(e)), 0);
  }

  /** The entry for a file_id, via the file_id -> file_unique_id mapping; undefined on a miss or any failure. */
  async getEntry(fileId: string, variant = DEFAULT_VARIANT): Promise<Omit<StickerEntry, 'bytes' | 'etagGzip'> | undefined> {
    const found = await this.#safe(async (c) => {
      // A file_id always names the same sticker, so its mapping is remembered here and a hit is one GET.
      let uid = this.#uids.get(fileId);
      if (uid === undefined) {
        const got = await c.get(this.#idKey(fileId));
        if (got === null) return undefined;
        this.#rememberUid(fileId, (uid = got));
      }
      const raw = await c.getBuffer(this.#entryKey(uid, variant));
      return raw === null ? undefined : decodeEntry(raw);
    }, undefined);
    if (found) this.counters.hits++;
    else this.counters.misses++;
    return found;
  }

  /** The entry stored under a sticker's file_unique_id (another file_id of the same sticker may have put it there). */
  async getEntryByUid(fileId: string, uid: string): Promise<Omit<StickerEntry, 'bytes' | 'etagGzip'> | undefined> {
    const found = await this.#safe(async (c) => {
      const raw = await c.getBuffer(this.#entryKey(uid));
      if (raw === null) return undefined;
      await c.set(this.#idKey(fileId), uid, 'EX', Math.max(1, this.#ttlSeconds));
      return decodeEntry(raw);
    }, undefined);
    if (found) this.counters.hits++;
    return found;
  }

  async setEntry(fileId: string, entry: StickerEntry, variant = DEFAULT_VARIANT): Promise<void> {
    const value = encodeEntry(entry, false);
    if (value.length > this.#cfg.maxValueBytes) {
      this.counters.skippedTooLarge++;
      return;
    }
    const ttl = this.#ttlSeconds;
    if (ttl <= 0) return;
    await this.#safe(async (c) => {
      await c.set(this.#entryKey(entry.fileUniqueId, variant), value, 'EX', ttl);
      await c.set(this.#idKey(fileId), entry.fileUniqueId, 'EX', ttl);
      this.#rememberUid(fileId, entry.fileUniqueId);
      this.counters.writes++;
    }, undefined);
  }

  async getFile(fileId: string): Promise<TelegramFile | undefined> {
    return this.#safe(async (c) => {
      const v = await c.get(this.#pathKey(fileId));
      return v === null ? undefined : (JSON.parse(v) as TelegramFile);
    }, undefined);
  }

  async setFile(fileId: string, file: TelegramFile, ttlMs: number): Promise<void> {
    await this.#safe(async (c) => c.set(this.#pathKey(fileId), JSON.stringify(file), 'PX', ttlMs), undefined);
  }

  async forgetFile(fileId: string): Promise<void> {
    await this.#safe(async (c) => c.unlink(this.#pathKey(fileId)), 0);
  }

  /** SET NX PX: a token when this caller now owns the fetch of fileId; 'held' when another does; 'error' when Redis failed. */
  async lock(fileId: string, ttlMs: number): Promise<string | 'held' | 'error'> {
    const token = randomUUID();
    const ok = await this.#safe(async (c) => c.set(this.#lockKey(fileId), token, 'PX', ttlMs, 'NX'), 'error' as const);
    return ok === 'OK' ? token : ok === null ? 'held' : 'error';
  }

  /** Releases only if the lock is still ours (it may have expired and been taken by another replica). */
  async unlock(fileId: string, token: string, failure?: FetchFailure): Promise<void> {
    const f = failure ? JSON.stringify(failure) : '';
    await this.#safe(async (c) => (c as Client & { releaseLock(...a: string[]): Promise<number> }).releaseLock(this.#lockKey(fileId), this.#failKey(fileId), token, f, String(FAILURE_TTL_MS)), 0);
  }

  /**
   * One slot of a per-second budget shared by all replicas: 0 when this call may go now, otherwise
   * the milliseconds until the next second. Redis trouble means no budget (0), not a stall.
   */
  async takeBudget(perSecond: number): Promise<number> {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    const granted = await this.#safe(
      async (c) => (c as Client & { takeBudget(...a: Array<string | number>): Promise<number> }).takeBudget(`${this.#cfg.keyPrefix}tg:budget:${second}`, perSecond, 10),
      1,
    );
    return granted === 1 ? 0 : (second + 1) * 1000 - now;
  }

  /** Records a Telegram 429 pause for replicas that start while it runs (the running ones hear the event). */
  async setPause(ms: number): Promise<void> {
    await this.#safe(async (c) => c.set(`${this.#cfg.keyPrefix}tg:pause`, '1', 'PX', Math.max(1, Math.ceil(ms))), undefined);
  }

  /** Milliseconds left of a pause another replica recorded; 0 when none. */
  async pauseRemaining(): Promise<number> {
    return Math.max(0, await this.#safe(async (c) => c.pttl(`${this.#cfg.keyPrefix}tg:pause`), 0));
  }

  /** The failure the last owner recorded for fileId in the past two seconds, if any. */
  async failure(fileId: string): Promise<FetchFailure | undefined> {
    const v = await this.#safe(async (c) => c.get(this.#failKey(fileId)), null);
    return v ? (JSON.parse(v) as FetchFailure) : undefined;
  }

  /** Removes every variant of the sticker behind fileId, its id mapping and its file_path. Returns its file_unique_id. */
  async deleteSticker(fileId: string): Promise<string | undefined> {
    return this.#safe(async (c) => {
      const uid = await c.get(this.#idKey(fileId));
      this.#uids.delete(fileId);
      await c.unlink(this.#idKey(fileId), this.#pathKey(fileId)).catch(async () => {
        // Keys in different cluster slots: one by one.
        await c.unlink(this.#idKey(fileId));
        await c.unlink(this.#pathKey(fileId));
      });
      if (uid !== null) await this.#unlinkMatching(`${this.#cfg.keyPrefix}e:{${escapeGlob(uid)}}:*`);
      return uid ?? undefined;
    }, undefined);
  }

  /** SCAN + UNLINK of our prefix only, on every master; never FLUSHDB. Returns how many keys went. */
  async clearAll(): Promise<number> {
    this.#uids.clear();
    return this.#safe(async () => this.#unlinkMatching(`${escapeGlob(this.#cfg.keyPrefix)}*`), 0);
  }

  async stats(): Promise<Record<string, unknown>> {
    const base = { enabled: true, available: this.available };
    const more = await this.#safe<Record<string, number>>(async () => {
      let keys = 0;
      let usedMemory = 0;
      let evictedKeys = 0;
      for (const node of this.#masters()) {
        const info = await node.info();
        usedMemory += Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
        evictedKeys += Number(/evicted_keys:(\d+)/.exec(info)?.[1] ?? 0);
        keys += await countKeys(node, `${escapeGlob(this.#cfg.keyPrefix)}*`);
      }
      return { keys, usedMemoryBytes: usedMemory, evictedKeys };
    }, {});
    return { ...base, ...more };
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#clients, this.#sub].map((c) => c.quit().catch(() => c.disconnect())));
  }

  #connect(subscriber = false): Client {
    const cfg = this.#cfg;
    const common: RedisOptions = {
      password: cfg.password,
      db: cfg.db,
      tls: cfg.tls ? {} : undefined,
      connectTimeout: Math.max(1000, cfg.commandTimeoutMs * 4),
      // Subscriptions are kept across reconnects by ioredis; other commands fail fast while disconnected.
      enableOfflineQueue: subscriber,
      commandTimeout: subscriber ? undefined : cfg.commandTimeoutMs,
      maxRetriesPerRequest: subscriber ? null : 0,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
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
        clusterRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
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

  async #safe<T>(fn: (c: Client) => Promise<T>, fallback: T): Promise<T> {
    const c = this.#pick();
    if (!c) {
      this.counters.errors++;
      return fallback;
    }
    try {
      return await fn(c);
    } catch (err) {
      this.counters.errors++;
      this.#log.debug({ err: (err as Error).message }, 'redis command failed');
      return fallback;
    }
  }

  #masters(): Redis[] {
    const c = this.#pick() ?? this.#clients[0];
    return c instanceof Cluster ? c.nodes('master') : [c];
  }

  async #unlinkMatching(pattern: string): Promise<number> {
    let removed = 0;
    for (const node of this.#masters()) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        // One key per UNLINK in cluster mode: keys of one SCAN page may sit in different slots.
        if (keys.length > 0) removed += this.#clients[0] instanceof Cluster ? (await Promise.all(keys.map((k) => node.unlink(k)))).reduce((a, b) => a + b, 0) : await node.unlink(...keys);
      } while (cursor !== '0');
    }
    return removed;
  }

  #dispatch(msg: string): void {
    let e: BusEvent;
    try {
      e = JSON.parse(msg) as BusEvent;
    } catch {
      return;
    }
    for (const h of this.#handlers) h(e);
  }

  #rememberUid(fileId: string, uid: string): void {
    if (this.#uids.size >= 100_000) this.#uids.delete(this.#uids.keys().next().value!);
    this.#uids.set(fileId, uid);
  }

  #idKey(fileId: string) {
    return `${this.#cfg.keyPrefix}id:${fileId}`;
  }
  #pathKey(fileId: string) {
    return `${this.#cfg.keyPrefix}path:${fileId}`;
  }
  #lockKey(fileId: string) {
    return `${this.#cfg.keyPrefix}lock:{${fileId}}`;
  }
  #failKey(fileId: string) {
    return `${this.#cfg.keyPrefix}fail:{${fileId}}`;
  }
  #entryKey(uid: string, variant = DEFAULT_VARIANT) {
    return `${this.#cfg.keyPrefix}e:{${uid}}:${variant}`;
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

async function countKeys(node: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

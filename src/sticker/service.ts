import { AppError, errors } from '../errors.js';
import { Deadline, raceSignal, sleep } from '../deadline.js';
import type { RedisTier } from '../redis/tier.js';
import type { Bus, BusEvent, FetchFailure } from '../model/events.js';
import type { TelegramFile } from '../model/telegram-file.js';
import { MemoryCache } from '../cache/memory.js';
import { SingleFlight } from '../singleflight.js';
import { setBounded } from '../bounded-map.js';
import { DownloadNotFound, type TelegramClient } from '../telegram/client.js';
import { makeEntry, type StickerEntry } from '../model/entry.js';
import type { Converter } from '../convert/converter.js';
import { variantKey, type ConvertSpec } from '../model/variant.js';

export interface StickerServiceOptions {
  telegram: TelegramClient | undefined;
  /** The engine, shared with POST /convert. */
  converter: Converter;
  memory: MemoryCache<StickerEntry>;
  maxFileBytes: number;
  endpointTimeoutMs: number;
  filePathTtlMs: number;
  /** The shared tier; when set, one replica fetches a sticker while the others wait for it. */
  redis?: RedisTier;
  bus: Bus;
}

export interface Served {
  entry: StickerEntry;
  body: Buffer;
  gzip: boolean;
  cache: 'HIT' | 'MISS';
}

const FILE_ID = /^[A-Za-z0-9_-]{10,256}$/;
/** Bound on the file_id -> file_path mappings one process remembers (a few hundred bytes each). */
const MAX_FILE_PATHS = 100_000;

function served(entry: StickerEntry, acceptsGzip: boolean, cache: Served['cache']): Served {
  return acceptsGzip && entry.gzip ? { entry, body: entry.gzip, gzip: true, cache } : { entry, body: entry.plain!, gzip: false, cache };
}

/** Throws 400 unless id looks like a Telegram file_id (base64url, bounded length). */
export function validateFileId(id: string): void {
  if (!FILE_ID.test(id)) {
    throw errors.invalidFileId(
      id.length < 10 || id.length > 256 ? 'must be 10 to 256 characters long' : 'only A-Z, a-z, 0-9, "-" and "_" are allowed',
    );
  }
}

/** The fetch path: memory tier, then Telegram (single-flight per file_id), then validation in the pool. */
export class StickerService {
  readonly #opts: StickerServiceOptions;
  readonly #flights = new SingleFlight<StickerEntry>();
  readonly #variantFlights = new SingleFlight<StickerEntry>();
  readonly #paths = new Map<string, { file: TelegramFile; expires: number }>();

  readonly #waiters = new Map<string, Set<(e: BusEvent) => void>>();

  constructor(options: StickerServiceOptions) {
    this.#opts = options;
    options.bus.onEvent((e) => this.#onEvent(e));
  }

  #onEvent(e: BusEvent): void {
    switch (e.type) {
      case 'failed':
      case 'ready':
        for (const wake of this.#waiters.get(e.id) ?? []) wake(e);
        break;
      case 'invalidate':
        this.#opts.memory.delete(e.id);
        if (e.uid) this.#opts.memory.deleteWhere((v) => v.fileUniqueId === e.uid);
        this.#paths.delete(e.id);
        break;
      case 'clear':
        this.#opts.memory.clear();
        this.#paths.clear();
        break;
    }
  }

  /** Removes a sticker from every tier of every worker and replica. */
  async invalidate(fileId: string): Promise<void> {
    const uid = await this.#opts.redis?.deleteSticker(fileId);
    const local = this.#opts.memory.peek(fileId)?.fileUniqueId;
    await this.#opts.bus.publish({ type: 'invalidate', id: fileId, uid: uid ?? local });
  }

  /** Removes our keys from Redis and empties the in-process tier everywhere; returns the Redis keys removed. */
  async clear(): Promise<number> {
    const removed = (await this.#opts.redis?.clearAll()) ?? 0;
    await this.#opts.bus.publish({ type: 'clear' });
    return removed;
  }

  /** Fetches this process left to another process or replica holding the lock. */
  coalescedAcrossProcesses = 0;

  /** Requests in this process waiting for another process's fetch. */
  get waiting(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }

  get coalesced(): number {
    return this.#flights.coalesced + this.#variantFlights.coalesced;
  }

  /** The cache-hit fast path: synchronous, no allocation beyond the result. */
  lookup(fileId: string, acceptsGzip: boolean): Served | undefined {
    const entry = this.#opts.memory.get(fileId);
    if (entry === undefined) return undefined;
    if ((acceptsGzip && entry.gzip) || entry.plain) return served(entry, acceptsGzip, 'HIT');
    return undefined; // a TGS whose JSON has not been made yet: fetch() decodes it
  }

  /**
   * The slow path, after lookup() found nothing servable (already counted as a hit or miss there).
   * The request's deadline (counted from startedAt) is only set up once Redis has missed too: a Redis hit
   * is bounded by REDIS_TIMEOUT_MS and needs no timer.
   */
  async fetch(fileId: string, acceptsGzip: boolean, startedAt: number): Promise<Served> {
    let entry = this.#opts.memory.peek(fileId) ?? (await this.#fromRedis(fileId));
    if (entry && (acceptsGzip ? entry.gzip ?? entry.plain : entry.plain)) return served(entry, acceptsGzip, 'HIT');
    const deadline = this.#requestDeadline(startedAt);
    try {
      let cache: Served['cache'] = 'HIT';
      if (entry === undefined) {
        cache = 'MISS';
        entry = await raceSignal(
          this.#flights.do(fileId, () => this.#load(fileId, !acceptsGzip)),
          deadline.signal,
        );
      }
      if (!(acceptsGzip && entry.gzip) && !entry.plain) entry = await this.#addJson(fileId, entry, deadline);
      return served(entry, acceptsGzip, cache);
    } finally {
      deadline.dispose();
    }
  }

  /**
   * A converted variant of a sticker whose stored form is base: memory, then Redis, then the pool (one
   * conversion per variant per process however many ask; Redis shares the result with the other replicas).
   */
  async variant(fileId: string, base: StickerEntry, spec: ConvertSpec, startedAt: number): Promise<Served> {
    const vkey = variantKey(spec);
    const key = `${fileId}|${vkey}`;
    const hit = this.#opts.memory.get(key);
    if (hit) return served(hit, false, 'HIT');
    const deadline = this.#requestDeadline(startedAt);
    try {
      let cache: Served['cache'] = 'HIT';
      const entry = await raceSignal(
        this.#variantFlights.do(key, async () => {
          const shared = await this.#opts.redis?.entries.get(fileId, vkey);
          if (shared) {
            const e = makeEntry(shared);
            this.#opts.memory.set(key, e);
            return e;
          }
          cache = 'MISS';
          const e = await this.#opts.converter.convert(base, spec, deadline.signal);
          this.#opts.memory.set(key, e);
          await this.#opts.redis?.entries.set(fileId, e, vkey);
          return e;
        }),
        deadline.signal,
      );
      return served(entry, false, cache);
    } finally {
      deadline.dispose();
    }
  }

  /** What is left of ENDPOINT_TIMEOUT_SEC for a request that started at startedAt (at least 1 ms). */
  #requestDeadline(startedAt: number): Deadline {
    return new Deadline(Math.max(1, this.#opts.endpointTimeoutMs - (performance.now() - startedAt)));
  }

  /** A Redis hit warms the in-process tier. */
  async #fromRedis(fileId: string): Promise<StickerEntry | undefined> {
    const found = await this.#opts.redis?.entries.get(fileId);
    if (!found) return undefined;
    const entry = makeEntry(found);
    this.#opts.memory.set(fileId, entry);
    return entry;
  }

  async #load(fileId: string, wantJson: boolean): Promise<StickerEntry> {
    if (!this.#opts.telegram) throw errors.tokenMissing();
    const redis = this.#opts.redis;
    // The shared fetch has its own deadline: a waiter giving up must not cancel it for the others.
    const deadline = new Deadline(this.#opts.endpointTimeoutMs);
    try {
      if (!redis?.available) return await this.#fetchFromTelegram(fileId, wantJson, deadline);
      // Across processes and replicas: whoever takes the lock fetches; the rest wait for its result.
      let waited = false;
      for (;;) {
        const lock = await redis.fetchLock.lock(fileId, this.#opts.endpointTimeoutMs);
        if (lock === 'error') return await this.#fetchFromTelegram(fileId, wantJson, deadline);
        if (lock !== 'held') return await this.#fetchAsOwner(redis, fileId, lock, wantJson, deadline);
        const cached = await this.#fromRedis(fileId);
        if (cached) return cached;
        // The owner records its failure atomically with releasing the lock: waiters get the same answer
        // instead of each asking Telegram in turn.
        const failed = await redis.fetchLock.failure(fileId);
        if (failed) throw new AppError(failed.code, failed.status, failed.message, failed.retryAfter);
        if (!waited) this.coalescedAcrossProcesses++;
        waited = true;
        const woken = await this.#waitForOther(fileId, deadline);
        if (woken?.type === 'failed') throw new AppError(woken.error.code, woken.error.status, woken.error.message, woken.error.retryAfter);
        // Done (the value is in Redis), a poll tick, or an owner whose lock expired: go round again.
      }
    } finally {
      deadline.dispose();
    }
  }

  async #fetchAsOwner(redis: RedisTier, fileId: string, token: string, wantJson: boolean, deadline: Deadline): Promise<StickerEntry> {
    let failure: FetchFailure | undefined;
    try {
      const cached = await this.#fromRedis(fileId);
      if (cached) return cached;
      const entry = await this.#fetchFromTelegram(fileId, wantJson, deadline);
      await redis.entries.set(fileId, entry);
      return entry;
    } catch (err) {
      const e = err instanceof AppError ? err : errors.internal();
      failure = { code: e.code, status: e.statusCode, message: e.message, retryAfter: e.retryAfter };
      throw err;
    } finally {
      await redis.fetchLock.unlock(fileId, token, failure);
      await this.#opts.bus.publish(failure ? { type: 'failed', id: fileId, error: failure } : { type: 'ready', id: fileId });
    }
  }

  /** Resolves with the event when another process announces fileId done or failed, or undefined after a short poll interval. */
  async #waitForOther(fileId: string, deadline: Deadline): Promise<BusEvent | undefined> {
    let wake!: (e: BusEvent) => void;
    const woken = new Promise<BusEvent>((r) => (wake = r));
    let set = this.#waiters.get(fileId);
    if (!set) this.#waiters.set(fileId, (set = new Set()));
    set.add(wake);
    try {
      // Polling covers a lost message and an owner that died (its lock expires).
      return await Promise.race([woken, sleep(100, deadline.signal).then(() => undefined)]);
    } finally {
      set.delete(wake);
      if (set.size === 0) this.#waiters.delete(fileId);
    }
  }

  async #fetchFromTelegram(fileId: string, wantJson: boolean, deadline: Deadline): Promise<StickerEntry> {
    const telegram = this.#opts.telegram!;
    const known = await this.#knownByUid(telegram, fileId, deadline);
    if (known) return known;
    const { data, file } = await this.#download(telegram, fileId, deadline);
    const entry = await this.#opts.converter.stored(data, file.fileUniqueId, wantJson, deadline.signal);
    this.#opts.memory.set(fileId, entry);
    return entry;
  }

  async #download(telegram: TelegramClient, fileId: string, deadline: Deadline): Promise<{ data: Buffer; file: TelegramFile }> {
    let file = this.#cachedFile(fileId) ?? (await this.#sharedFile(fileId)) ?? (await this.#getFile(telegram, fileId, deadline));
    for (let refreshed = false; ; refreshed = true) {
      this.#checkSize(file);
      try {
        return { data: await telegram.download(file.filePath!, deadline), file };
      } catch (err) {
        if (!(err instanceof DownloadNotFound)) throw err;
        this.#paths.delete(fileId);
        await this.#opts.redis?.files.forget(fileId);
        if (refreshed) throw errors.fileNotFound('the file could not be downloaded');
        // A stale file_path gets one fresh getFile.
        file = await this.#getFile(telegram, fileId, deadline);
      }
    }
  }

  #checkSize(file: TelegramFile): void {
    const max = this.#opts.maxFileBytes;
    if (file.fileSize !== undefined && file.fileSize > max) throw errors.fileTooBig(max, `${file.fileSize} bytes`);
    // Telegram leaves file_path out for files it will not serve to bots (over 20 MB).
    if (file.filePath === undefined) throw errors.fileTooBig(max, 'Telegram gives no download path for it');
  }

  #cachedFile(fileId: string): TelegramFile | undefined {
    const hit = this.#paths.get(fileId);
    if (hit && hit.expires > Date.now()) return hit.file;
    if (hit) this.#paths.delete(fileId);
    return undefined;
  }

  /** Another file_id of the same sticker may already be cached under its file_unique_id: then no download. */
  async #knownByUid(telegram: TelegramClient, fileId: string, deadline: Deadline): Promise<StickerEntry | undefined> {
    const redis = this.#opts.redis;
    if (!redis?.available) return undefined;
    const file = this.#cachedFile(fileId) ?? (await this.#sharedFile(fileId)) ?? (await this.#getFile(telegram, fileId, deadline));
    const found = await redis.entries.getByUid(fileId, file.fileUniqueId);
    if (!found) return undefined;
    const entry = makeEntry(found);
    this.#opts.memory.set(fileId, entry);
    return entry;
  }

  /** A file_path another replica got from Telegram (kept in Redis for the same 55 minutes). */
  async #sharedFile(fileId: string): Promise<TelegramFile | undefined> {
    const file = await this.#opts.redis?.files.get(fileId);
    if (file) this.#rememberFile(fileId, file);
    return file;
  }

  async #getFile(telegram: TelegramClient, fileId: string, deadline: Deadline): Promise<TelegramFile> {
    const file = await telegram.getFile(fileId, deadline);
    this.#rememberFile(fileId, file);
    await this.#opts.redis?.files.set(fileId, file, this.#opts.filePathTtlMs);
    return file;
  }

  #rememberFile(fileId: string, file: TelegramFile): void {
    setBounded(this.#paths, fileId, { file, expires: Date.now() + this.#opts.filePathTtlMs }, MAX_FILE_PATHS);
  }

  /** A gzip-only TGS entry asked for by a client that does not take gzip: decode once and keep the JSON. */
  async #addJson(fileId: string, entry: StickerEntry, deadline: Deadline): Promise<StickerEntry> {
    const withJson = await this.#opts.converter.withJson(entry, deadline.signal);
    this.#opts.memory.set(fileId, withJson);
    return withJson;
  }
}

import type { DiskConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { StickerEntry } from '../model/entry.js';
import type { SharedTier, StoredEntry } from '../model/tiers.js';
import { decodeEntry, encodeEntry } from '../model/entry-codec.js';
import type { DiskStore, EntryKey } from './store.js';

const DEFAULT_VARIANT = 'default';
/** An entry's last access is written at most this often (a read must not cost a write each time). */
const ACCESS_RESOLUTION_MS = 60_000;
/** Touches and removals found by reads are written together, this often. */
const FLUSH_MS = 1000;
/** Entries removed per transaction by eviction and cleanup (a transaction holds the writer lock). */
const BATCH = 256;

export interface DiskCounters {
  hits: number;
  misses: number;
  writes: number;
  skippedTooLarge: number;
  errors: number;
}

const entryKey = (uid: string, variant: string) => `${uid}\u0000${variant}`;

/**
 * The disk tier: one LMDB store for every worker of the host, keyed like the Redis tier. Bounded by
 * DISK_CACHE_MAX_SIZE_MB (least recently used out first, in the writing transaction), entries past
 * DISK_CACHE_TTL_DAYS are misses and are swept, values past DISK_MAX_FILE_SIZE_MB stay out. Every failure is
 * a miss or a no-op, warned once per kind.
 */
export class DiskTier implements SharedTier {
  readonly name = 'disk';
  readonly counters: DiskCounters = { hits: 0, misses: 0, writes: 0, skippedTooLarge: 0, errors: 0 };
  readonly #s: DiskStore;
  readonly #cfg: DiskConfig;
  readonly #log: Logger;
  readonly #warned = new Set<string>();
  readonly #touches = new Map<EntryKey, number>();
  readonly #drops = new Set<EntryKey>();
  #flushTimer: NodeJS.Timeout | undefined;
  readonly #cleanupTimer: NodeJS.Timeout;
  #usable = true;

  constructor(store: DiskStore, cfg: DiskConfig, log: Logger) {
    this.#s = store;
    this.#cfg = cfg;
    this.#log = log;
    this.#cleanupTimer = setInterval(() => void this.sweep(), Math.min(cfg.cleanupIntervalMs, 3_600_000));
    this.#cleanupTimer.unref();
  }

  /** False after a write failed (a full or read-only disk) until one succeeds again. */
  get usable(): boolean {
    return this.#usable;
  }

  async get(fileId: string, variant = DEFAULT_VARIANT): Promise<StoredEntry | undefined> {
    const found = this.#read(fileId, variant);
    if (found) this.counters.hits++;
    else this.counters.misses++;
    return found;
  }

  async getByUid(fileId: string, uid: string): Promise<StoredEntry | undefined> {
    const found = this.#readKey(entryKey(uid, DEFAULT_VARIANT));
    if (!found) return undefined;
    this.counters.hits++;
    await this.#write('ids', () => this.#s.ids.put(fileId, [uid, Date.now()]));
    return found;
  }

  async set(fileId: string, entry: StickerEntry, variant = DEFAULT_VARIANT): Promise<void> {
    const value = encodeEntry(entry, false);
    if (value.length > this.#cfg.maxValueBytes || value.length > this.#cfg.maxBytes) {
      this.counters.skippedTooLarge++;
      return;
    }
    const key = entryKey(entry.fileUniqueId, variant);
    const { entries, meta, lru, ids, state } = this.#s;
    const ok = await this.#write('write', () =>
      this.#s.root.transaction(() => {
        const now = Date.now();
        // Replacing an entry: its old bytes and LRU record go first.
        if (meta.get(key)) this.#removeAll([key]);
        entries.put(key, value);
        meta.put(key, [value.length, now, now]);
        lru.put([now, key], 1);
        ids.put(fileId, [entry.fileUniqueId, now]);
        const bytes = (state.get('bytes') ?? 0) + value.length;
        state.put('bytes', bytes);
        state.put('count', (state.get('count') ?? 0) + 1);
        this.#evictOver(bytes, key);
      }),
    );
    if (ok) this.counters.writes++;
  }

  /** Removes every variant of the sticker behind fileId and its id mapping; returns its file_unique_id. */
  async delete(fileId: string): Promise<string | undefined> {
    const uid = this.#s.ids.get(fileId)?.[0];
    await this.#write('delete', () =>
      this.#s.root.transaction(() => {
        this.#s.ids.remove(fileId);
        if (uid === undefined) return;
        const keys = [...this.#s.meta.getKeys({ start: entryKey(uid, ''), end: entryKey(uid, '\uffff') })];
        this.#removeAll(keys);
      }),
    );
    return uid;
  }

  async clear(): Promise<number> {
    const count = this.#s.state.get('count') ?? 0;
    const { entries, meta, lru, ids, state } = this.#s;
    await this.#write('clear', () =>
      this.#s.root.transaction(() => {
        for (const db of [entries, meta, lru, ids]) db.clearSync();
        state.put('bytes', 0);
        state.put('count', 0);
      }),
    );
    return count;
  }

  /** Host-wide totals (not per process: every worker sees the same store). */
  totals(): { entries: number; bytes: number; maxBytes: number; evictions: number } {
    const st = this.#s.state;
    return { entries: st.get('count') ?? 0, bytes: st.get('bytes') ?? 0, maxBytes: this.#cfg.maxBytes, evictions: st.get('evictions') ?? 0 };
  }

  /**
   * Removes entries older than DISK_CACHE_TTL_DAYS and id mappings as old, in batches. One worker of the
   * host does it per DISK_CACHE_CLEANUP_INTERVAL_HOURS (the first to claim the turn in a transaction).
   */
  async sweep(force = false): Promise<number> {
    const { state, meta, ids } = this.#s;
    const claimed = await this.#write('cleanup', () =>
      this.#s.root.transaction(() => {
        const now = Date.now();
        if (!force && now - (state.get('lastCleanup') ?? 0) < this.#cfg.cleanupIntervalMs) return false;
        state.put('lastCleanup', now);
        return true;
      }),
    );
    if (!claimed) return 0;
    const oldest = Date.now() - this.#cfg.ttlMs;
    /** Keys of the records (meta: [bytes, createdAt, ...]; ids: [uid, createdAt]) created before oldest. */
    const expired = <K>(records: Iterable<{ key: K; value: [unknown, number, ...unknown[]] }>) => {
      const keys: K[] = [];
      for (const { key, value } of records) if (value[1] <= oldest) keys.push(key);
      return keys;
    };
    const entryKeys = expired(meta.getRange({}));
    await this.#inBatches(entryKeys, (part) => this.#removeAll(part));
    await this.#inBatches(expired(ids.getRange({})), (part) => part.forEach((k) => ids.remove(k)));
    const removed = entryKeys.length;
    if (removed) this.#log.info({ removed }, 'disk cache: expired entries removed');
    return removed;
  }

  /** Removes keys BATCH at a time, one transaction each, so the writer lock is never held long. */
  async #inBatches<K>(keys: K[], remove: (part: K[]) => void): Promise<void> {
    for (let i = 0; i < keys.length; i += BATCH) {
      const part = keys.slice(i, i + BATCH);
      await this.#write('cleanup', () => this.#s.root.transaction(() => remove(part)));
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#cleanupTimer);
    clearTimeout(this.#flushTimer);
    await this.#flush();
    await this.#s.root.close();
  }

  #read(fileId: string, variant: string): StoredEntry | undefined {
    try {
      const uid = this.#s.ids.get(fileId)?.[0];
      return uid === undefined ? undefined : this.#readKey(entryKey(uid, variant));
    } catch (err) {
      this.#fault('read', err);
      return undefined;
    }
  }

  #readKey(key: EntryKey): StoredEntry | undefined {
    try {
      const raw = this.#s.entries.getBinary(key);
      if (!raw) return undefined;
      const m = this.#s.meta.get(key);
      const now = Date.now();
      if (!m || m[1] + this.#cfg.ttlMs <= now) {
        this.#later(key);
        return undefined;
      }
      const entry = decodeEntry(raw);
      if (!entry) {
        this.#warnOnce('corrupt', { key: key.replace('\u0000', ':') }, 'disk cache: an unreadable entry was found and removed (a miss)');
        this.#later(key);
        return undefined;
      }
      if (now - m[2] >= ACCESS_RESOLUTION_MS) this.#touch(key, now);
      return entry;
    } catch (err) {
      this.#fault('read', err);
      return undefined;
    }
  }

  /** Inside a transaction: the least recently used entries out (never keep) until bytes fits the limit. */
  #evictOver(bytes: number, keep: EntryKey): void {
    let over = bytes - this.#cfg.maxBytes;
    if (over <= 0) return;
    const victims: EntryKey[] = [];
    for (const [, k] of this.#s.lru.getKeys()) {
      if (over <= 0) break;
      const m = k === keep ? undefined : this.#s.meta.get(k);
      if (!m) continue;
      victims.push(k);
      over -= m[0];
    }
    this.#removeAll(victims);
    this.#s.state.put('evictions', (this.#s.state.get('evictions') ?? 0) + victims.length);
  }

  /** Inside a transaction: removes entries with their metadata and LRU records, keeping the totals. */
  #removeAll(keys: EntryKey[]): void {
    const { entries, meta, lru, state } = this.#s;
    let bytes = state.get('bytes') ?? 0;
    let count = state.get('count') ?? 0;
    for (const k of keys) {
      const m = meta.get(k);
      entries.remove(k);
      if (!m) continue;
      meta.remove(k);
      lru.remove([m[2], k]);
      bytes -= m[0];
      count--;
    }
    state.put('bytes', Math.max(0, bytes));
    state.put('count', Math.max(0, count));
  }

  #touch(key: EntryKey, at: number): void {
    this.#touches.set(key, at);
    this.#schedule();
  }

  #later(key: EntryKey): void {
    this.#drops.add(key);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#flushTimer) return;
    this.#flushTimer = setTimeout(() => void this.#flush(), FLUSH_MS);
    this.#flushTimer.unref();
  }

  /** Writes the access times and removals reads found, in one transaction. */
  async #flush(): Promise<void> {
    this.#flushTimer = undefined;
    if (this.#touches.size === 0 && this.#drops.size === 0) return;
    const touches = [...this.#touches];
    const drops = [...this.#drops];
    this.#touches.clear();
    this.#drops.clear();
    const { meta, lru } = this.#s;
    await this.#write('write', () =>
      this.#s.root.transaction(() => {
        for (const [key, at] of touches) {
          const m = meta.get(key);
          if (!m || m[2] >= at) continue;
          lru.remove([m[2], key]);
          lru.put([at, key], 1);
          meta.put(key, [m[0], m[1], at]);
        }
        this.#removeAll(drops);
      }),
    );
  }

  /** Runs a write; a failure (full or read-only disk) is warned once and reported as false, never thrown. */
  async #write<T>(kind: string, write: () => Promise<T> | T): Promise<T | false> {
    try {
      const r = await write();
      if (!this.#usable) this.#log.info('disk cache writable again');
      this.#usable = true;
      return r;
    } catch (err) {
      this.#usable = false;
      this.#fault(kind, err);
      return false;
    }
  }

  #fault(kind: string, err: unknown): void {
    this.counters.errors++;
    this.#warnOnce(kind, { err: (err as Error).message, code: (err as NodeJS.ErrnoException).code }, `disk cache ${kind} failed: serving from the other tiers`);
  }

  #warnOnce(kind: string, detail: Record<string, unknown>, msg: string): void {
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    this.#log.warn({ dir: this.#cfg.dir, ...detail }, msg);
  }
}


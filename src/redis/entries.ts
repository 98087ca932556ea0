import type { StickerEntry } from '../model/entry.js';
import type { StoreBudget, StoredEntry } from '../model/tiers.js';
import { setBounded } from '../bounded-map.js';
import { escapeGlob, type RedisConnection } from './connection.js';
import { decodeEntry, encodeEntry } from '../model/entry-codec.js';

const DEFAULT_VARIANT = 'default'; // the sticker as stored: TGS gzip bytes, or the file as Telegram has it
/** file_id -> file_unique_id mappings remembered per process (a file_id always names the same sticker). */
const MAX_REMEMBERED_IDS = 100_000;

/**
 * Cache entries in Redis: one binary value per (file_unique_id, variant), found from a file_id through its
 * id mapping; keys of one sticker share the {uid} hash tag for Redis Cluster.
 */
export class RedisEntries {
  readonly counters = { hits: 0, misses: 0, writes: 0, skippedTooLarge: 0 };
  readonly #uids = new Map<string, string>();

  constructor(
    private readonly conn: RedisConnection,
    private readonly ttlSeconds: number,
  ) {}

  /** The entry for a file_id; undefined on a miss or any failure. */
  async get(fileId: string, variant = DEFAULT_VARIANT, budget?: StoreBudget): Promise<StoredEntry | undefined> {
    const found = await this.conn.safe(async (c) => {
      // The mapping is remembered here, so a hit is one GET.
      let uid = this.#uids.get(fileId);
      if (uid === undefined) {
        const got = await c.get(this.#idKey(fileId));
        if (got === null) return undefined;
        setBounded(this.#uids, fileId, (uid = got), MAX_REMEMBERED_IDS);
      }
      const raw = await c.getBuffer(this.#entryKey(uid, variant));
      return raw === null ? undefined : decodeEntry(raw);
    }, undefined, budget);
    if (found) this.counters.hits++;
    else this.counters.misses++;
    return found;
  }

  /** The entry stored under a sticker's file_unique_id (another file_id of the same sticker may have put it there). */
  async getByUid(fileId: string, uid: string, budget?: StoreBudget): Promise<StoredEntry | undefined> {
    const found = await this.conn.safe(async (c) => {
      const raw = await c.getBuffer(this.#entryKey(uid));
      if (raw === null) return undefined;
      await c.set(this.#idKey(fileId), uid, 'EX', Math.max(1, this.ttlSeconds));
      return decodeEntry(raw);
    }, undefined, budget);
    if (found) this.counters.hits++;
    return found;
  }

  async set(fileId: string, entry: StickerEntry, variant = DEFAULT_VARIANT, budget?: StoreBudget): Promise<void> {
    const value = encodeEntry(entry, false);
    if (value.length > this.conn.cfg.maxValueBytes) {
      this.counters.skippedTooLarge++;
      return;
    }
    const ttl = this.ttlSeconds;
    if (ttl <= 0) return;
    await this.conn.safe(async (c) => {
      await c.set(this.#entryKey(entry.fileUniqueId, variant), value, 'EX', ttl);
      await c.set(this.#idKey(fileId), entry.fileUniqueId, 'EX', ttl);
      setBounded(this.#uids, fileId, entry.fileUniqueId, MAX_REMEMBERED_IDS);
      this.counters.writes++;
    }, undefined, budget);
  }

  /** Removes every variant of the sticker behind fileId and its id mapping (and extra keys). Returns its file_unique_id. */
  async delete(fileId: string, extraKeys: string[] = []): Promise<string | undefined> {
    return this.conn.safe(async (c) => {
      const uid = await c.get(this.#idKey(fileId));
      this.#uids.delete(fileId);
      const keys = [this.#idKey(fileId), ...extraKeys];
      await c.unlink(...keys).catch(async () => {
        // Keys in different cluster slots: one by one.
        for (const k of keys) await c.unlink(k);
      });
      if (uid !== null) await unlinkMatching(this.conn, this.conn.key(`e:{${escapeGlob(uid)}}:*`));
      return uid ?? undefined;
    }, undefined);
  }

  /** Forgets the remembered id mappings (after the keys were removed). */
  forgetIds(): void {
    this.#uids.clear();
  }

  #idKey(fileId: string) {
    return this.conn.key(`id:${fileId}`);
  }
  #entryKey(uid: string, variant = DEFAULT_VARIANT) {
    return this.conn.key(`e:{${uid}}:${variant}`);
  }
}

/** SCAN + UNLINK of the keys matching pattern on every master. Returns how many went. */
export async function unlinkMatching(conn: RedisConnection, pattern: string): Promise<number> {
  let removed = 0;
  await conn.scan(pattern, async (node, keys) => {
    // One key per UNLINK in cluster mode: keys of one SCAN page may sit in different slots.
    removed += conn.isCluster ? (await Promise.all(keys.map((k) => node.unlink(k)))).reduce((a, b) => a + b, 0) : await node.unlink(...keys);
  });
  return removed;
}

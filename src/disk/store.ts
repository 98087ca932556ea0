import { mkdirSync } from 'node:fs';
import type { RootDatabase, Database } from 'lmdb';
import type { DiskConfig } from '../config.js';
import type { Logger } from '../logger.js';

/** Entry key: the sticker's file_unique_id and its variant, as the Redis tier keys them. */
export type EntryKey = string;
/** [bytes, createdAt, accessedAt] of an entry (ms since the epoch). */
export type EntryMeta = [number, number, number];

/**
 * The LMDB environment of the disk tier: one memory-mapped file every worker of the host opens. Writes are
 * transactions (a process killed mid-write leaves the last committed state, never half an entry), serialised
 * across processes by LMDB's own lock; reads are lock-free and see every committed write at once.
 */
export interface DiskStore {
  root: RootDatabase;
  /** Encoded entries (the codec Redis uses too). */
  entries: Database<Buffer, EntryKey>;
  meta: Database<EntryMeta, EntryKey>;
  /** Entries in order of last access: [accessedAt, key]; the oldest are evicted first. */
  lru: Database<number, [number, EntryKey]>;
  /** file_id -> [file_unique_id, createdAt]. */
  ids: Database<[string, number], string>;
  /** Totals kept in the same transactions as the entries: bytes, count, evictions, lastCleanup. */
  state: Database<number, string>;
  /** The host-wide fetch lock and the failures its owners record. */
  locks: Database<{ token?: string; failure?: unknown; expires: number }, string>;
}

/** Opens (creating it if needed) the store in cfg.dir; undefined, with a warning, when the disk cannot be used. */
export function openDiskStore(cfg: DiskConfig, log: Logger): DiskStore | undefined {
  try {
    mkdirSync(cfg.dir, { recursive: true });
    const { open } = require('lmdb') as typeof import('lmdb');
    const root = open({
      path: cfg.dir,
      maxDbs: 8,
      // Room for the entries and LMDB's own pages; the file grows only as far as it is used.
      mapSize: Math.max(64 * 1024 * 1024, cfg.maxBytes * 2),
      // A lost last transaction after a power cut costs a cache miss; a process crash loses nothing.
      noMetaSync: true,
    });
    const store: DiskStore = {
      root,
      entries: root.openDB({ name: 'entries', encoding: 'binary' }),
      meta: root.openDB({ name: 'meta' }),
      lru: root.openDB({ name: 'lru' }),
      ids: root.openDB({ name: 'ids' }),
      state: root.openDB({ name: 'state' }),
      locks: root.openDB({ name: 'locks' }),
    };
    // A write now, so a read-only or full disk shows at start rather than at the first sticker.
    store.state.putSync('openedAt', Date.now());
    return store;
  } catch (err) {
    log.warn({ dir: cfg.dir, err: (err as Error).message }, 'disk cache unusable: serving without it (set DISK_CACHE_DIR to a writable directory, or DISK_CACHE_ENABLED=false)');
    return undefined;
  }
}

import type { StickerEntry } from './entry.js';
import type { FetchFailure } from './events.js';

/**
 * What one request may still spend on a shared store, ms (REDIS_REQUEST_BUDGET_MS): every command spends
 * from it, and once it is gone the store is skipped (a miss, a no-op) for the rest of the request.
 */
export interface StoreBudget {
  leftMs: number;
}

/** An entry as a shared tier gives it back; makeEntry() turns it into a StickerEntry again. */
export type StoredEntry = Omit<StickerEntry, 'bytes' | 'etagGzip'>;

/**
 * A cache tier below the in-process one, shared by the processes of a host (disk) or by replicas (Redis).
 * `variant` is a normalised variant key; left out, the sticker as stored. Every failure is a miss or a
 * no-op: a tier in trouble never fails a request.
 */
export interface SharedTier {
  /** Names the tier in reports (`disk`, `redis`). */
  readonly name: string;
  get(fileId: string, variant?: string, budget?: StoreBudget): Promise<StoredEntry | undefined>;
  /** The sticker stored under its file_unique_id by another of its file_ids; remembers fileId for it on a hit. */
  getByUid(fileId: string, uid: string, budget?: StoreBudget): Promise<StoredEntry | undefined>;
  set(fileId: string, entry: StickerEntry, variant?: string, budget?: StoreBudget): Promise<void>;
  /** Removes every variant of the sticker behind fileId; returns its file_unique_id when known. */
  delete(fileId: string): Promise<string | undefined>;
  /** Removes everything this tier holds for the service; returns how many keys or files went. */
  clear(): Promise<number>;
}

/** One fetch of a sticker at a time among the processes sharing the lock. */
export interface FetchLock {
  /** False while the lock's store is unreachable: callers fetch on their own. */
  readonly available: boolean;
  /** A token when the caller now owns the fetch; 'held' when another does; 'error' when the store failed. */
  lock(fileId: string, ttlMs: number, budget?: StoreBudget): Promise<string | 'held' | 'error'>;
  /** Releases the lock if it is still ours, recording why the fetch failed (if it did) for the waiters. Never skipped for a budget: waiters depend on it. */
  unlock(fileId: string, token: string, failure?: FetchFailure): Promise<void>;
  /** The failure the last owner recorded for fileId, for a short while after it gave up. */
  failure(fileId: string, budget?: StoreBudget): Promise<FetchFailure | undefined>;
}

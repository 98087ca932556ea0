import { makeEntry, type StickerEntry } from '../model/entry.js';
import type { SharedTier, StoreBudget, StoredEntry } from '../model/tiers.js';
import type { MemoryCache } from './memory.js';

/** The in-process key of a sticker as stored (no variant) or of one of its variants. */
function localKey(fileId: string, variant?: string): string {
  return variant === undefined ? fileId : `${fileId}|${variant}`;
}

/**
 * The cache chain: the in-process tier, then the shared tiers in order (nearest first). A hit below warms
 * every tier above it; a write goes to all of them. A new tier plugs in as one more SharedTier.
 */
export class TieredCache {
  readonly memory: MemoryCache<StickerEntry>;
  readonly #shared: SharedTier[];

  constructor(memory: MemoryCache<StickerEntry>, shared: SharedTier[]) {
    this.memory = memory;
    this.#shared = shared;
  }

  /** The in-process tier alone, synchronously: the cache-hit fast path (counted as a hit or a miss). */
  local(fileId: string, variant?: string): StickerEntry | undefined {
    return this.memory.get(localKey(fileId, variant));
  }

  /** The first tier holding the entry, the in-process one included (without counting it again). */
  async get(fileId: string, variant?: string, budget?: StoreBudget): Promise<StickerEntry | undefined> {
    return this.memory.peek(localKey(fileId, variant)) ?? this.shared(fileId, variant, budget);
  }

  /** The shared tiers only, for a caller that has just missed in process. */
  shared(fileId: string, variant?: string, budget?: StoreBudget): Promise<StickerEntry | undefined> {
    return this.#first(fileId, variant, budget, (tier) => tier.get(fileId, variant, budget));
  }

  /** The sticker another of its file_ids stored under its file_unique_id, if a shared tier has it. */
  byUid(fileId: string, uid: string, budget?: StoreBudget): Promise<StickerEntry | undefined> {
    return this.#first(fileId, undefined, budget, (tier) => tier.getByUid(fileId, uid, budget));
  }

  /** Write-through to every tier. */
  async set(fileId: string, entry: StickerEntry, variant?: string, budget?: StoreBudget): Promise<void> {
    this.memory.set(localKey(fileId, variant), entry);
    for (const tier of this.#shared) await tier.set(fileId, entry, variant, budget);
  }

  /** The in-process tier only: a representation made from what the shared tiers already hold. */
  setLocal(fileId: string, entry: StickerEntry): void {
    this.memory.set(fileId, entry);
  }

  /** Removes the sticker from the shared tiers; returns its file_unique_id when one of them (or this process) knows it. */
  async delete(fileId: string): Promise<string | undefined> {
    let uid = this.memory.peek(fileId)?.fileUniqueId;
    for (const tier of this.#shared) uid = (await tier.delete(fileId)) ?? uid;
    return uid;
  }

  /** Drops the sticker (every variant, every file_id of it when uid is given) from this process. */
  dropLocal(fileId: string, uid?: string): void {
    this.memory.delete(fileId);
    if (uid) this.memory.deleteWhere((v) => v.fileUniqueId === uid);
  }

  /** Empties the shared tiers; returns how many keys or entries went, by tier name. */
  async clear(): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    for (const tier of this.#shared) removed[tier.name] = await tier.clear();
    return removed;
  }

  clearLocal(): void {
    this.memory.clear();
  }

  async #first(fileId: string, variant: string | undefined, budget: StoreBudget | undefined, read: (tier: SharedTier) => Promise<StoredEntry | undefined>): Promise<StickerEntry | undefined> {
    for (let i = 0; i < this.#shared.length; i++) {
      const found = await read(this.#shared[i]);
      if (!found) continue;
      const entry = makeEntry(found);
      this.memory.set(localKey(fileId, variant), entry);
      for (const above of this.#shared.slice(0, i)) await above.set(fileId, entry, variant, budget);
      return entry;
    }
    return undefined;
  }
}

/** A value the memory tier can hold: it reports how many bytes it keeps alive. */
export interface Sized {
  readonly bytes: number;
}

export interface MemoryCacheStats {
  hits: number;
  misses: number;
  items: number;
  bytes: number;
  maxBytes: number;
  evictions: number;
}

/**
 * In-process cache bounded by bytes, not item count, with a TTL. Eviction is CLOCK (second chance), an
 * LRU approximation: a hit only sets a flag, so the hot path does no Map reordering; eviction walks from
 * the oldest insertion, giving flagged entries another round at the back.
 */
export class MemoryCache<V extends Sized> {
  readonly #map = new Map<string, { value: V; expires: number; used: boolean }>();
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(opts: { maxBytes: number; ttlMs: number; now?: () => number }) {
    this.#maxBytes = opts.maxBytes;
    this.#ttlMs = opts.ttlMs;
    this.#now = opts.now ?? Date.now;
  }

  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined) {
      this.#misses++;
      return undefined;
    }
    if (e.expires <= this.#now()) {
      this.#remove(key, e.value);
      this.#misses++;
      return undefined;
    }
    e.used = true;
    this.#hits++;
    return e.value;
  }

  /** Reads without counting a hit or miss and without refreshing recency. */
  peek(key: string): V | undefined {
    const e = this.#map.get(key);
    return e && e.expires > this.#now() ? e.value : undefined;
  }

  /** Stores value unless it alone exceeds the budget; evicts least recently used entries to make room. */
  set(key: string, value: V): boolean {
    const old = this.#map.get(key);
    if (old) this.#remove(key, old.value);
    if (value.bytes > this.#maxBytes || this.#ttlMs <= 0) return false;
    while (this.#bytes + value.bytes > this.#maxBytes) {
      const [oldKey, old] = this.#map.entries().next().value!;
      if (old.used) {
        old.used = false;
        this.#map.delete(oldKey);
        this.#map.set(oldKey, old);
        continue;
      }
      this.#remove(oldKey, old.value);
      this.#evictions++;
    }
    this.#map.set(key, { value, expires: this.#now() + this.#ttlMs, used: false });
    this.#bytes += value.bytes;
    return true;
  }

  delete(key: string): boolean {
    const e = this.#map.get(key);
    if (!e) return false;
    this.#remove(key, e.value);
    return true;
  }

  /** Removes every entry whose value matches; for rare admin operations (it scans the whole cache). */
  deleteWhere(pred: (value: V) => boolean): number {
    let n = 0;
    for (const [key, e] of this.#map) {
      if (pred(e.value)) {
        this.#remove(key, e.value);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }

  stats(): MemoryCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      items: this.#map.size,
      bytes: this.#bytes,
      maxBytes: this.#maxBytes,
      evictions: this.#evictions,
    };
  }

  #remove(key: string, value: V): void {
    this.#map.delete(key);
    this.#bytes -= value.bytes;
  }
}

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
 * In-process LRU bounded by bytes, not item count, with a TTL. A Map keeps insertion order, so
 * re-inserting on a hit makes the first key the least recently used.
 */
export class MemoryCache<V extends Sized> {
  readonly #map = new Map<string, { value: V; expires: number }>();
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
    this.#map.delete(key);
    this.#map.set(key, e);
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
      const [lruKey, lru] = this.#map.entries().next().value!;
      this.#remove(lruKey, lru.value);
      this.#evictions++;
    }
    this.#map.set(key, { value, expires: this.#now() + this.#ttlMs });
    this.#bytes += value.bytes;
    return true;
  }

  delete(key: string): boolean {
    const e = this.#map.get(key);
    if (!e) return false;
    this.#remove(key, e.value);
    return true;
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

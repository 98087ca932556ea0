/** map.set(key, value), first removing the oldest entry when the map already holds max: a bound, not an LRU. */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (map.size >= max && !map.has(key)) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

/**
 * A map whose entries expire ttlMs after they were set, holding at most max of them (the oldest set goes
 * first, as setBounded does). An expired entry is removed when it is read.
 */
export class ExpiringMap<K, V> {
  readonly #entries = new Map<K, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max: number,
  ) {}

  get(key: K): V | undefined {
    const hit = this.#entries.get(key);
    if (hit && hit.expires > Date.now()) return hit.value;
    if (hit) this.#entries.delete(key);
    return undefined;
  }

  set(key: K, value: V): void {
    setBounded(this.#entries, key, { value, expires: Date.now() + this.ttlMs }, this.max);
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** Coalesces concurrent calls with the same key into one execution; everyone gets its outcome. */
export class SingleFlight<T> {
  readonly #inflight = new Map<string, Promise<T>>();
  coalesced = 0;

  do(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.#inflight.get(key);
    if (running) {
      this.coalesced++;
      return running;
    }
    const p = fn().finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }
}

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  /** Callers still waiting with a signal; the work is cancelled when the last of them gives up. */
  waiting: number;
  /** A caller without a signal waits for good: the work is never cancelled. */
  pinned: boolean;
}

/**
 * Coalesces concurrent calls with the same key into one execution; everyone gets its outcome. The work
 * gets a signal that aborts once every caller has given up (their signals aborted), so nothing runs for
 * nobody.
 */
export class SingleFlight<T> {
  readonly #inflight = new Map<string, Flight<T>>();
  coalesced = 0;

  /** Whether a call for key is under way (joining it runs nothing). */
  running(key: string): boolean {
    return this.#inflight.has(key);
  }

  do(key: string, fn: (signal: AbortSignal) => Promise<T>, caller?: AbortSignal): Promise<T> {
    let flight = this.#inflight.get(key);
    if (flight) {
      this.coalesced++;
    } else {
      const controller = new AbortController();
      const started: Flight<T> = { promise: fn(controller.signal), controller, waiting: 0, pinned: false };
      started.promise = started.promise.finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, (flight = started));
    }
    const f = flight;
    if (!caller) f.pinned = true;
    else if (!caller.aborted) {
      f.waiting++;
      caller.addEventListener('abort', () => --f.waiting === 0 && !f.pinned && f.controller.abort(caller.reason), { once: true });
    }
    return f.promise;
  }
}

import { AppError, errors } from '../errors.js';
import { sleep, type Deadline } from '../deadline.js';
import type { Bus, BusEvent, FetchFailure } from '../model/events.js';
import type { FetchLock, StoreBudget } from '../model/tiers.js';
import type { StickerEntry } from '../model/entry.js';

/** How often a waiter looks again without a message: covers a lost message and an owner that died. */
const POLL_MS = 100;

export interface CoordinatedRun {
  /** How long the lock is held at most (an owner that dies lets it expire). */
  lockMs: number;
  deadline: Deadline;
  /** The entry, if another process has stored it. */
  stored: () => Promise<StickerEntry | undefined>;
  /** Fetches and stores it. */
  fetch: () => Promise<StickerEntry>;
  budget?: StoreBudget;
}

const failureError = (f: FetchFailure) => new AppError(f.code, f.status, f.message, f.retryAfter);

/**
 * One fetch of a sticker among every process sharing the lock: whoever takes it fetches and announces the
 * result on the bus; the others wait for it and read the stored entry, or the failure the owner recorded.
 */
export class CoordinatedFetch {
  /** Fetches this process left to another process or replica holding the lock. */
  coalesced = 0;
  readonly #lock: FetchLock | undefined;
  readonly #bus: Bus;
  readonly #waiters = new Map<string, Set<(e: BusEvent) => void>>();

  constructor(lock: FetchLock | undefined, bus: Bus) {
    this.#lock = lock;
    this.#bus = bus;
    bus.onEvent((e) => {
      if (e.type === 'ready' || e.type === 'failed') for (const wake of this.#waiters.get(e.id) ?? []) wake(e);
    });
  }

  /** Requests in this process waiting for another process's fetch. */
  get waiting(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }

  /**
   * The entry for fileId: from stored() if another process has put it there, else from fetch() run here
   * as the lock's owner (which stores it). Without a reachable lock, fetch() runs here at once.
   */
  async run(fileId: string, how: CoordinatedRun): Promise<StickerEntry> {
    const { lockMs, deadline, stored, fetch, budget } = how;
    const lock = this.#lock;
    if (!lock?.available) return fetch();
    let waited = false;
    for (;;) {
      const token = await lock.lock(fileId, lockMs, budget);
      if (token === 'error') return fetch();
      if (token !== 'held') return this.#asOwner(lock, fileId, token, how);
      const found = await stored();
      if (found) return found;
      // The owner records its failure atomically with releasing the lock: waiters get the same answer
      // instead of each asking Telegram in turn.
      const failed = await lock.failure(fileId, budget);
      if (failed) throw failureError(failed);
      if (!waited) this.coalesced++;
      waited = true;
      const woken = await this.#waitForOwner(fileId, deadline);
      if (woken?.type === 'failed') throw failureError(woken.error);
      // Done (the entry is stored), a poll tick, or an owner whose lock expired: go round again.
    }
  }

  async #asOwner(lock: FetchLock, fileId: string, token: string, { stored, fetch, deadline }: CoordinatedRun): Promise<StickerEntry> {
    let failure: FetchFailure | undefined;
    let outOfTime = false;
    try {
      return (await stored()) ?? (await fetch());
    } catch (err) {
      // Running out of time (or of waiters) is this process's failure, not the sticker's: others waiting
      // with time left take the lock over instead of inheriting it.
      outOfTime = deadline.signal.aborted;
      const e = err instanceof AppError ? err : errors.internal();
      if (!outOfTime) failure = { code: e.code, status: e.statusCode, message: e.message, retryAfter: e.retryAfter };
      throw err;
    } finally {
      await lock.unlock(fileId, token, failure);
      if (!outOfTime) await this.#bus.publish(failure ? { type: 'failed', id: fileId, error: failure } : { type: 'ready', id: fileId });
    }
  }

  /** The owner's announcement for fileId, or undefined after a poll interval. */
  async #waitForOwner(fileId: string, deadline: Deadline): Promise<BusEvent | undefined> {
    let wake!: (e: BusEvent) => void;
    const woken = new Promise<BusEvent>((r) => (wake = r));
    let set = this.#waiters.get(fileId);
    if (!set) this.#waiters.set(fileId, (set = new Set()));
    set.add(wake);
    try {
      return await Promise.race([woken, sleep(POLL_MS, deadline.signal).then(() => undefined)]);
    } finally {
      set.delete(wake);
      if (set.size === 0) this.#waiters.delete(fileId);
    }
  }
}

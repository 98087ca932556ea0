import { randomUUID } from 'node:crypto';
import type { FetchFailure } from '../model/events.js';
import type { FetchLock } from '../model/tiers.js';
import type { DiskStore } from './store.js';

/** How long waiters can read the failure an owner recorded. */
const FAILURE_TTL_MS = 2000;
const failKey = (fileId: string) => `fail:${fileId}`;

/**
 * The fetch lock of one host without Redis: a record in the disk store, taken and released in LMDB write
 * transactions (serialised across the host's processes), expiring if its owner dies.
 */
export class DiskFetchLock implements FetchLock {
  constructor(private readonly s: DiskStore) {}

  readonly available = true;

  async lock(fileId: string, ttlMs: number): Promise<string | 'held' | 'error'> {
    try {
      return await this.s.root.transaction(() => {
        const now = Date.now();
        const cur = this.s.locks.get(fileId);
        if (cur && cur.expires > now) return 'held' as const;
        const token = randomUUID();
        this.s.locks.put(fileId, { token, expires: now + ttlMs });
        this.s.locks.remove(failKey(fileId));
        return token;
      });
    } catch {
      return 'error';
    }
  }

  async unlock(fileId: string, token: string, failure?: FetchFailure): Promise<void> {
    try {
      await this.s.root.transaction(() => {
        if (this.s.locks.get(fileId)?.token !== token) return;
        this.s.locks.remove(fileId);
        if (failure) this.s.locks.put(failKey(fileId), { failure, expires: Date.now() + FAILURE_TTL_MS });
      });
    } catch {
      // An unwritable store: the lock expires on its own.
    }
  }

  async failure(fileId: string): Promise<FetchFailure | undefined> {
    try {
      const f = this.s.locks.get(failKey(fileId));
      return f && f.expires > Date.now() ? (f.failure as FetchFailure) : undefined;
    } catch {
      return undefined;
    }
  }
}

import { randomUUID } from 'node:crypto';
import type { FetchFailure } from '../model/events.js';
import type { FetchLock, StoreBudget } from '../model/tiers.js';
import type { Client, RedisConnection, Script } from './connection.js';

// Releases the lock only if it is still ours; with a failure given, records it first in the same atomic
// step, so whoever sees the lock gone also sees why (keys share the {fileId} hash tag for Redis Cluster).
export const RELEASE_LOCK: Script = {
  numberOfKeys: 2,
  lua: `if redis.call('get', KEYS[1]) == ARGV[1] then
  if ARGV[2] ~= '' then redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
  return redis.call('del', KEYS[1])
end
return 0`,
};
/** How long waiters can read the failure an owner recorded. */
const FAILURE_TTL_MS = 2000;

/** The cross-replica fetch lock: one replica fetches a sticker from Telegram while the others wait. */
export class RedisFetchLock implements FetchLock {
  constructor(private readonly conn: RedisConnection) {}

  get available(): boolean {
    return this.conn.available;
  }

  /** SET NX PX: a token when this caller now owns the fetch of fileId; 'held' when another does; 'error' when Redis failed. */
  async lock(fileId: string, ttlMs: number, budget?: StoreBudget): Promise<string | 'held' | 'error'> {
    const token = randomUUID();
    const ok = await this.conn.safe(async (c) => c.set(this.#lockKey(fileId), token, 'PX', ttlMs, 'NX'), 'error' as const, budget);
    return ok === 'OK' ? token : ok === null ? 'held' : 'error';
  }

  /** Releases only if the lock is still ours (it may have expired and been taken by another replica). */
  async unlock(fileId: string, token: string, failure?: FetchFailure): Promise<void> {
    const f = failure ? JSON.stringify(failure) : '';
    await this.conn.safe(async (c) => (c as Client & { releaseLock(...a: string[]): Promise<number> }).releaseLock(this.#lockKey(fileId), this.#failKey(fileId), token, f, String(FAILURE_TTL_MS)), 0);
  }

  /** The failure the last owner recorded for fileId in the past two seconds, if any. */
  async failure(fileId: string, budget?: StoreBudget): Promise<FetchFailure | undefined> {
    const v = await this.conn.safe(async (c) => c.get(this.#failKey(fileId)), null, budget);
    return v ? (JSON.parse(v) as FetchFailure) : undefined;
  }

  #lockKey(fileId: string) {
    return this.conn.key(`lock:{${fileId}}`);
  }
  #failKey(fileId: string) {
    return this.conn.key(`fail:{${fileId}}`);
  }
}

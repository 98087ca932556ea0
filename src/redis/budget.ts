import type { Client, RedisConnection, Script } from './connection.js';

// One slot of a per-second budget: a refused call does not count, so the counter is exactly the calls let
// through in that second.
export const TAKE_BUDGET: Script = {
  numberOfKeys: 1,
  lua: `local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('expire', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then redis.call('decr', KEYS[1]) return 0 end
return 1`,
};

/** The Telegram budget shared by every replica (TELEGRAM_GLOBAL_RPS) and the 429 pause they share. */
export class TelegramBudget {
  constructor(private readonly conn: RedisConnection) {}

  /**
   * One slot of a per-second budget shared by all replicas: 0 when this call may go now, otherwise
   * the milliseconds until the next second. Redis trouble means no budget (0), not a stall.
   */
  async take(perSecond: number): Promise<number> {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    const granted = await this.conn.safe(async (c) => (c as Client & { takeBudget(...a: Array<string | number>): Promise<number> }).takeBudget(this.conn.key(`tg:budget:${second}`), perSecond, 10), 1);
    return granted === 1 ? 0 : (second + 1) * 1000 - now;
  }

  /** Records a Telegram 429 pause for replicas that start while it runs (the running ones hear the event). */
  async setPause(ms: number): Promise<void> {
    await this.conn.safe(async (c) => c.set(this.conn.key('tg:pause'), '1', 'PX', Math.max(1, Math.ceil(ms))), undefined);
  }

  /** Milliseconds left of a pause another replica recorded; 0 when none. */
  async pauseRemaining(): Promise<number> {
    return Math.max(0, await this.conn.safe(async (c) => c.pttl(this.conn.key('tg:pause')), 0));
  }
}

import { errors } from '../errors.js';
import { sleep, type Deadline } from '../deadline.js';

/**
 * Admission for outbound Telegram calls in this process: at most `limit` at once, and none while a
 * 429's retry_after is running. A caller whose deadline cannot outlast the pause is refused at once.
 */
export class TelegramGate {
  #active = 0;
  readonly #waiters: Array<() => void> = [];
  #pausedUntil = 0;

  /**
   * budget, when given, is a shared outbound budget: it answers how long to wait before a call may go
   * (0: go now). Used for TELEGRAM_GLOBAL_RPS across replicas.
   */
  constructor(
    readonly limit: number,
    private readonly budget?: () => Promise<number>,
  ) {}

  /** Called when Telegram answered 429: every call made after this waits until the pause ends. */
  pause(seconds: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + seconds * 1000);
  }

  pausedForMs(): number {
    return Math.max(0, this.#pausedUntil - Date.now());
  }

  async run<T>(deadline: Deadline, fn: () => Promise<T>): Promise<T> {
    await this.waitOutPause(deadline);
    await this.#acquire(deadline.signal);
    try {
      for (let wait = this.budget ? await this.budget() : 0; wait > 0; wait = await this.budget!()) {
        if (wait >= deadline.remaining()) throw errors.overloaded('the shared Telegram request budget is used up');
        await sleep(wait, deadline.signal);
      }
      return await fn();
    } finally {
      this.#release();
    }
  }

  async waitOutPause(deadline: Deadline): Promise<void> {
    for (let wait = this.pausedForMs(); wait > 0; wait = this.pausedForMs()) {
      if (wait >= deadline.remaining()) throw errors.telegramRateLimited(Math.ceil(wait / 1000));
      await sleep(wait, deadline.signal);
    }
  }

  #acquire(signal: AbortSignal): Promise<void> {
    if (this.#active < this.limit) {
      this.#active++;
      return Promise.resolve();
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        this.#active++;
        resolve();
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(grant);
    });
  }

  #release(): void {
    this.#active--;
    this.#waiters.shift()?.();
  }
}

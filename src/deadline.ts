import { errors } from './errors.js';

/**
 * A point in time after which work for a request is abandoned; its signal aborts with a 504 AppError, or
 * earlier with the reason of the `cancel` signal (nobody waits for the work any more).
 */
export class Deadline {
  readonly at: number;
  readonly signal: AbortSignal;
  readonly #timer: NodeJS.Timeout;
  readonly #unlink: (() => void) | undefined;

  constructor(
    readonly ms: number,
    cancel?: AbortSignal,
  ) {
    this.at = Date.now() + ms;
    const ac = new AbortController();
    this.signal = ac.signal;
    this.#timer = setTimeout(() => ac.abort(errors.timeout(ms)), ms);
    this.#timer.unref();
    if (cancel) {
      const onCancel = () => ac.abort(cancel.reason);
      if (cancel.aborted) onCancel();
      else cancel.addEventListener('abort', onCancel, { once: true });
      this.#unlink = () => cancel.removeEventListener('abort', onCancel);
    }
  }

  remaining(): number {
    return Math.max(0, this.at - Date.now());
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#unlink?.();
  }
}

/** Resolves after ms, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits for promise, but gives up with the signal's reason when it aborts first (the promise goes on). */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

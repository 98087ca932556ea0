import { errors } from './errors.js';

/** A point in time after which work for a request is abandoned; its signal aborts with a 504 AppError. */
export class Deadline {
  readonly at: number;
  readonly signal: AbortSignal;
  readonly #timer: NodeJS.Timeout;

  constructor(readonly ms: number) {
    this.at = Date.now() + ms;
    const ac = new AbortController();
    this.signal = ac.signal;
    this.#timer = setTimeout(() => ac.abort(errors.timeout(ms)), ms);
    this.#timer.unref();
  }

  remaining(): number {
    return Math.max(0, this.at - Date.now());
  }

  dispose(): void {
    clearTimeout(this.#timer);
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

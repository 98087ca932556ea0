import { Deadline } from '../deadline.js';
import { AppError, errors } from '../errors.js';
import { ExpiringMap } from '../bounded-map.js';
import type { SetSticker } from '../model/sticker-set.js';
import type { TelegramClient } from '../telegram/client.js';

/** Telegram's most ids in one getCustomEmojiStickers call. */
export const CUSTOM_EMOJI_BATCH_MAX = 200;
// Custom emoji a worker keeps resolved (each a few hundred bytes).
const EMOJI_KEPT = 10_000;
const CUSTOM_EMOJI_ID = /^[0-9]{1,24}$/;

/** A custom emoji id as messages carry it (decimal digits); anything else is a 400 before Telegram. */
export function validateCustomEmojiId(id: string): void {
  if (!CUSTOM_EMOJI_ID.test(id)) throw errors.invalidCustomEmojiId();
}

interface Waiter {
  resolve: (s: SetSticker) => void;
  reject: (err: unknown) => void;
}

/**
 * Custom emoji ids to their stickers through getCustomEmojiStickers. Ids asked for within `batchMs` of each
 * other go to Telegram in one call of up to 200 (a page of emoji is one call, not a hundred); an id already
 * asked for joins its call; resolved ones are kept `ttlMs` (an id always names the same file).
 */
export class CustomEmojiResolver {
  readonly #kept: ExpiringMap<string, SetSticker>;
  readonly #flights = new Map<string, Promise<SetSticker>>();
  readonly #queue = new Map<string, Waiter>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: { telegram: TelegramClient | undefined; batchMs: number; ttlMs: number; endpointTimeoutMs: number }) {
    this.#kept = new ExpiringMap(opts.ttlMs, EMOJI_KEPT);
  }

  get(id: string): Promise<SetSticker> {
    const kept = this.#kept.get(id);
    if (kept) return Promise.resolve(kept);
    if (!this.opts.telegram) return Promise.reject(errors.tokenMissing());
    let flight = this.#flights.get(id);
    if (flight) return flight;
    flight = new Promise<SetSticker>((resolve, reject) => this.#queue.set(id, { resolve, reject }));
    this.#flights.set(id, flight);
    const forget = () => this.#flights.delete(id);
    flight.then(forget, forget);
    if (this.#queue.size >= CUSTOM_EMOJI_BATCH_MAX) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), this.opts.batchMs);
    return flight;
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = [...this.#queue].slice(0, CUSTOM_EMOJI_BATCH_MAX);
    for (const [id] of batch) this.#queue.delete(id);
    if (this.#queue.size > 0) this.#timer = setTimeout(() => this.#flush(), 0);
    void this.#resolve(batch);
  }

  async #resolve(batch: Array<[string, Waiter]>): Promise<void> {
    const deadline = new Deadline(this.opts.endpointTimeoutMs);
    try {
      const found = await this.opts.telegram!.getCustomEmojiStickers(batch.map(([id]) => id), deadline);
      const byId = new Map(found.flatMap((s) => (s.customEmojiId ? [[s.customEmojiId, s] as const] : [])));
      for (const [id, w] of batch) {
        const sticker = byId.get(id);
        if (!sticker) {
          w.reject(errors.customEmojiNotFound(id));
          continue;
        }
        this.#kept.set(id, sticker);
        w.resolve(sticker);
      }
    } catch (err) {
      // Telegram refusing the batch must not fail the others' ids for one bad one: each alone, then.
      if (batch.length > 1 && err instanceof AppError && err.code === errors.telegramBadRequest.code) {
        await Promise.all(batch.map((one) => this.#resolve([one])));
        return;
      }
      for (const [, w] of batch) w.reject(err);
    } finally {
      deadline.dispose();
    }
  }
}

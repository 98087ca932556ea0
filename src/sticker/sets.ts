import { Deadline } from '../deadline.js';
import { AppError, errors } from '../errors.js';
import { ExpiringMap } from '../bounded-map.js';
import { SingleFlight } from '../singleflight.js';
import { SET_NAME, type StickerSet } from '../model/sticker-set.js';
import type { TelegramClient } from '../telegram/client.js';

// Sets a worker keeps listed (each a few KB of metadata).
const SETS_KEPT = 1000;

/**
 * A set's name from what a user pastes: the name itself, or a share link (https://t.me/addstickers/<name>,
 * t.me/addemoji/<name>, tg://addstickers?set=<name>). Anything else is a 400 INVALID_SET_NAME.
 */
export function setName(given: string): string {
  const text = given.trim();
  const link = /^(?:https?:\/\/)?(?:www\.)?t(?:elegram)?\.me\/add(?:stickers|emoji)\/([^/?#]+)\/?(?:[?#].*)?$/i.exec(text) ?? /^tg:\/\/add(?:stickers|emoji)\?set=([^&#]+)/i.exec(text);
  const name = link ? link[1] : text;
  if (!SET_NAME.test(name)) throw errors.invalidSetName(`${JSON.stringify(given.slice(0, 80))} is neither a set name (letters, digits and _, up to 64) nor a t.me/addstickers/ link`);
  return name;
}

/**
 * Sticker sets by name through getStickerSet, kept for STICKER_SET_TTL_SEC (a set changes when its owner
 * edits it; its stickers are cached as any other), one call for concurrent requests of one set.
 */
export class StickerSets {
  readonly #kept: ExpiringMap<string, StickerSet>;
  readonly #flights = new SingleFlight<StickerSet>();

  constructor(private readonly opts: { telegram: TelegramClient | undefined; ttlMs: number; endpointTimeoutMs: number }) {
    this.#kept = new ExpiringMap(opts.ttlMs, SETS_KEPT);
  }

  async get(name: string, startedAt: number): Promise<StickerSet> {
    const kept = this.#kept.get(name);
    if (kept) return kept;
    const { telegram, endpointTimeoutMs } = this.opts;
    if (!telegram) throw errors.tokenMissing();
    const deadline = new Deadline(Math.max(1, endpointTimeoutMs - (performance.now() - startedAt)));
    try {
      return await this.#flights.do(name, async () => {
        try {
          const set = await telegram.getStickerSet(name, deadline);
          this.#kept.set(name, set);
          return set;
        } catch (err) {
          // Telegram answers an unknown name with 400 STICKERSET_INVALID.
          if (err instanceof AppError && err.code === errors.telegramBadRequest.code && /STICKERSET_INVALID/i.test(err.message)) throw errors.setNotFound(name);
          throw err;
        }
      });
    } finally {
      deadline.dispose();
    }
  }
}

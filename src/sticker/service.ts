import { errors } from '../errors.js';
import { Deadline, raceSignal } from '../deadline.js';
import type { Bus } from '../model/events.js';
import type { StickerEntry } from '../model/entry.js';
import type { StoreBudget } from '../model/tiers.js';
import { variantKey, type ConvertSpec } from '../model/variant.js';
import type { TieredCache } from '../cache/tiered.js';
import type { CoordinatedFetch } from '../cache/coordinated-fetch.js';
import type { TelegramFiles } from '../telegram/files.js';
import type { Converter } from '../convert/converter.js';
import { SingleFlight } from '../singleflight.js';

export interface StickerServiceOptions {
  /** Telegram's files; undefined without a bot token. */
  files: TelegramFiles | undefined;
  /** The engine, shared with POST /convert. */
  converter: Converter;
  cache: TieredCache;
  /** One fetch per sticker across the processes sharing its lock. */
  coordinated: CoordinatedFetch;
  endpointTimeoutMs: number;
  /** What one request may spend on the shared tiers in all (REDIS_REQUEST_BUDGET_MS). */
  sharedBudgetMs: number;
  bus: Bus;
}

export interface Served {
  entry: StickerEntry;
  body: Buffer;
  gzip: boolean;
  cache: 'HIT' | 'MISS';
}

export const FILE_ID = /^[A-Za-z0-9_-]{10,256}$/;

/** Throws 400 unless id looks like a Telegram file_id (base64url, bounded length). */
export function validateFileId(id: string): void {
  if (!FILE_ID.test(id)) {
    throw errors.invalidFileId(
      id.length < 10 || id.length > 256 ? 'must be 10 to 256 characters long' : 'only A-Z, a-z, 0-9, "-" and "_" are allowed',
    );
  }
}

/** Whether entry has the representation this client takes (a TGS may be stored as gzip only). */
const servable = (entry: StickerEntry, acceptsGzip: boolean) => (acceptsGzip && entry.gzip !== undefined) || entry.plain !== undefined;

function served(entry: StickerEntry, acceptsGzip: boolean, cache: Served['cache']): Served {
  return acceptsGzip && entry.gzip ? { entry, body: entry.gzip, gzip: true, cache } : { entry, body: entry.plain!, gzip: false, cache };
}

/**
 * The pipeline: the cache tiers, then one fetch per sticker across processes (lock), then Telegram, then
 * the engine, then every tier. Variants go the same way from the stored sticker.
 */
export class StickerService {
  readonly #opts: StickerServiceOptions;
  readonly #flights = new SingleFlight<StickerEntry>();
  readonly #variantFlights = new SingleFlight<StickerEntry>();

  constructor(options: StickerServiceOptions) {
    this.#opts = options;
    options.bus.onEvent((e) => {
      if (e.type === 'invalidate') {
        options.cache.dropLocal(e.id, e.uid);
        options.files?.forgetLocal(e.id);
      } else if (e.type === 'clear') {
        options.cache.clearLocal();
        options.files?.forgetLocal();
      }
    });
  }

  /** Fetches this process left to another process or replica holding the lock. */
  get coalescedAcrossProcesses(): number {
    return this.#opts.coordinated.coalesced;
  }

  /** Requests in this process waiting for another process's fetch. */
  get waiting(): number {
    return this.#opts.coordinated.waiting;
  }

  get coalesced(): number {
    return this.#flights.coalesced + this.#variantFlights.coalesced;
  }

  /** The cache-hit fast path: synchronous, no allocation beyond the result. */
  lookup(fileId: string, acceptsGzip: boolean): Served | undefined {
    const entry = this.#opts.cache.local(fileId);
    // A TGS whose JSON has not been made yet goes to fetch(), which decodes it.
    return entry !== undefined && servable(entry, acceptsGzip) ? served(entry, acceptsGzip, 'HIT') : undefined;
  }

  /**
   * The slow path, after lookup() found nothing servable. The request's deadline (counted from startedAt)
   * is set up only once the shared tiers have missed too: their hits are bounded by their own timeouts.
   */
  async fetch(fileId: string, acceptsGzip: boolean, startedAt: number): Promise<Served> {
    const budget = this.#budget();
    const entry = await this.#opts.cache.get(fileId, undefined, budget);
    if (entry && servable(entry, acceptsGzip)) return served(entry, acceptsGzip, 'HIT');
    return this.#withDeadline(startedAt, async (deadline) => {
      const load = (cancel: AbortSignal) => this.#load(fileId, !acceptsGzip, budget, cancel);
      const stored = entry ?? (await raceSignal(this.#flights.do(fileId, load, deadline.signal), deadline.signal));
      const ready = servable(stored, acceptsGzip) ? stored : await this.#addJson(fileId, stored, deadline);
      return served(ready, acceptsGzip, entry ? 'HIT' : 'MISS');
    });
  }

  /** A sticker already fetched (base) in the representation this client takes. */
  async asStored(fileId: string, base: Served, acceptsGzip: boolean, startedAt: number): Promise<Served> {
    if (servable(base.entry, acceptsGzip)) return served(base.entry, acceptsGzip, base.cache);
    return this.#withDeadline(startedAt, async (deadline) => served(await this.#addJson(fileId, base.entry, deadline), acceptsGzip, base.cache));
  }

  /**
   * A converted variant of the sticker stored as base: the tiers, then the engine (once per variant per
   * process). beforeConvert runs only when the engine is about to (the caller's conversion budget).
   */
  async variant(fileId: string, base: StickerEntry, spec: ConvertSpec, startedAt: number, beforeConvert?: () => Promise<void>): Promise<Served> {
    const { cache, converter } = this.#opts;
    const vkey = variantKey(spec);
    const hit = cache.local(fileId, vkey);
    if (hit) return served(hit, false, 'HIT');
    return this.#withDeadline(startedAt, async (deadline) => {
      const budget = this.#budget();
      const shared = await cache.shared(fileId, vkey, budget);
      if (shared) return served(shared, false, 'HIT');
      const key = `${fileId}|${vkey}`;
      // Starting a conversion is charged to this caller alone: a refusal must not fail others joining it.
      if (!this.#variantFlights.running(key)) await beforeConvert?.();
      let made = false;
      const entry = await raceSignal(
        this.#variantFlights.do(
          key,
          async (cancel) => {
            made = true;
            // Bounded by CONVERSION_TIMEOUT_SEC in the pool, and stopped once every waiter has given up.
            const e = await converter.convert(base, spec, cancel);
            await cache.set(fileId, e, vkey, budget);
            return e;
          },
          deadline.signal,
        ),
        deadline.signal,
      );
      return served(entry, false, made ? 'MISS' : 'HIT');
    });
  }

  /** Removes a sticker from every tier of every worker and replica. */
  async invalidate(fileId: string): Promise<void> {
    const uid = await this.#opts.cache.delete(fileId);
    await this.#opts.bus.publish({ type: 'invalidate', id: fileId, uid });
  }

  /** Empties the shared tiers and the in-process tier everywhere; returns what each shared tier removed. */
  async clear(): Promise<Record<string, number>> {
    const removed = await this.#opts.cache.clear();
    await this.#opts.bus.publish({ type: 'clear' });
    return removed;
  }

  /** Runs work with what is left of ENDPOINT_TIMEOUT_SEC for a request that started at startedAt. */
  async #withDeadline<T>(startedAt: number, work: (deadline: Deadline) => Promise<T>): Promise<T> {
    const deadline = new Deadline(Math.max(1, this.#opts.endpointTimeoutMs - (performance.now() - startedAt)));
    try {
      return await work(deadline);
    } finally {
      deadline.dispose();
    }
  }

  /**
   * The fetch every caller of this process shares. It has its own deadline, so one waiter giving up does
   * not cancel it for the others; when all of them have (cancel), Telegram calls under way are cancelled.
   */
  async #load(fileId: string, wantJson: boolean, budget: StoreBudget, cancel: AbortSignal): Promise<StickerEntry> {
    const { files, cache, coordinated, endpointTimeoutMs } = this.#opts;
    if (!files) throw errors.tokenMissing();
    const deadline = new Deadline(endpointTimeoutMs, cancel);
    try {
      return await coordinated.run(fileId, {
        lockMs: endpointTimeoutMs,
        deadline,
        budget,
        stored: () => cache.shared(fileId, undefined, budget),
        fetch: () => this.#fromTelegram(files, fileId, wantJson, deadline, budget),
      });
    } finally {
      deadline.dispose();
    }
  }

  async #fromTelegram(files: TelegramFiles, fileId: string, wantJson: boolean, deadline: Deadline, budget: StoreBudget): Promise<StickerEntry> {
    const file = await files.describe(fileId, deadline, budget);
    // Another file_id of the same sticker may have stored it already: then no download.
    const known = await this.#opts.cache.byUid(fileId, file.fileUniqueId, budget);
    if (known) return known;
    const data = await files.download(fileId, file, deadline);
    const entry = await this.#opts.converter.stored(data, file.fileUniqueId, wantJson, deadline.signal);
    await this.#opts.cache.set(fileId, entry, undefined, budget);
    return entry;
  }

  #budget(): StoreBudget {
    return { leftMs: this.#opts.sharedBudgetMs };
  }

  /** A gzip-only TGS entry asked for by a client that does not take gzip: decode once and keep the JSON here. */
  async #addJson(fileId: string, entry: StickerEntry, deadline: Deadline): Promise<StickerEntry> {
    const withJson = await this.#opts.converter.withJson(entry, deadline.signal);
    this.#opts.cache.setLocal(fileId, withJson);
    return withJson;
  }
}

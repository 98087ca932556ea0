import { errors } from '../errors.js';
import { Deadline, raceSignal } from '../deadline.js';
import { contentTypes, detectFormat } from '../formats.js';
import { MemoryCache } from '../cache/memory.js';
import { SingleFlight } from '../singleflight.js';
import type { ProcessPool } from '../convert/pool.js';
import { DownloadNotFound, type TelegramClient, type TelegramFile } from '../telegram/client.js';
import { makeEntry, type StickerEntry } from './entry.js';

export interface StickerServiceOptions {
  telegram: TelegramClient | undefined;
  pool: ProcessPool;
  memory: MemoryCache<StickerEntry>;
  maxFileBytes: number;
  endpointTimeoutMs: number;
  filePathTtlMs: number;
  /** Bound on remembered file_id -> file_path mappings. */
  maxFilePaths?: number;
}

export interface Served {
  entry: StickerEntry;
  body: Buffer;
  gzip: boolean;
  cache: 'HIT' | 'MISS';
}

const FILE_ID = /^[A-Za-z0-9_-]{10,256}$/;

/** Throws 400 unless id looks like a Telegram file_id (base64url, bounded length). */
export function validateFileId(id: string): void {
  if (!FILE_ID.test(id)) {
    throw errors.invalidFileId(
      id.length < 10 || id.length > 256 ? 'must be 10 to 256 characters long' : 'only A-Z, a-z, 0-9, "-" and "_" are allowed',
    );
  }
}

/** The fetch path: memory tier, then Telegram (single-flight per file_id), then validation in the pool. */
export class StickerService {
  readonly #o: StickerServiceOptions;
  readonly #flights = new SingleFlight<StickerEntry>();
  readonly #paths = new Map<string, { file: TelegramFile; expires: number }>();

  constructor(options: StickerServiceOptions) {
    this.#o = options;
  }

  get coalesced(): number {
    return this.#flights.coalesced;
  }

  /** The cache-hit fast path: synchronous, no allocation beyond the result. */
  lookup(fileId: string, acceptsGzip: boolean): Served | undefined {
    const entry = this.#o.memory.get(fileId);
    if (entry === undefined) return undefined;
    if (acceptsGzip && entry.gzip) return { entry, body: entry.gzip, gzip: true, cache: 'HIT' };
    if (entry.plain) return { entry, body: entry.plain, gzip: false, cache: 'HIT' };
    return undefined; // a TGS whose JSON has not been made yet: fetch() decodes it
  }

  /** The slow path, after lookup() found nothing servable (already counted as a hit or miss there). */
  async fetch(fileId: string, acceptsGzip: boolean, deadline: Deadline): Promise<Served> {
    let entry = this.#o.memory.peek(fileId);
    let cache: Served['cache'] = 'HIT';
    if (entry === undefined) {
      cache = 'MISS';
      entry = await raceSignal(
        this.#flights.do(fileId, () => this.#load(fileId, !acceptsGzip)),
        deadline.signal,
      );
    }
    if (acceptsGzip && entry.gzip) return { entry, body: entry.gzip, gzip: true, cache };
    if (!entry.plain) entry = await this.#addJson(fileId, entry, deadline);
    return { entry, body: entry.plain!, gzip: false, cache };
  }

  async #load(fileId: string, wantJson: boolean): Promise<StickerEntry> {
    const telegram = this.#o.telegram;
    if (!telegram) throw errors.tokenMissing();
    // The shared fetch has its own deadline: a waiter giving up must not cancel it for the others.
    const deadline = new Deadline(this.#o.endpointTimeoutMs);
    try {
      const { data, file } = await this.#download(telegram, fileId, deadline);
      const format = detectFormat(data);
      if (format === undefined) throw errors.unsupportedFormat('not a TGS, WebP, WebM, PNG, JPEG or GIF file');
      let entry: StickerEntry;
      if (format === 'tgs') {
        const started = performance.now();
        const decoded = await this.#o.pool.decodeTgs(data, wantJson, deadline.signal);
        entry = makeEntry({
          fileUniqueId: file.fileUniqueId,
          original: 'tgs',
          output: 'lottie',
          contentType: contentTypes.lottie,
          isConverted: true,
          conversionMs: performance.now() - started,
          gzip: decoded.gzip,
          plain: decoded.json,
          info: decoded.info,
        });
      } else {
        entry = makeEntry({
          fileUniqueId: file.fileUniqueId,
          original: format,
          output: format,
          contentType: contentTypes[format],
          isConverted: false,
          conversionMs: 0,
          plain: data,
        });
      }
      this.#o.memory.set(fileId, entry);
      return entry;
    } finally {
      deadline.dispose();
    }
  }

  async #download(telegram: TelegramClient, fileId: string, deadline: Deadline): Promise<{ data: Buffer; file: TelegramFile }> {
    let file = this.#cachedFile(fileId) ?? (await this.#getFile(telegram, fileId, deadline));
    for (let refreshed = false; ; refreshed = true) {
      this.#checkSize(file);
      try {
        return { data: await telegram.download(file.filePath!, deadline), file };
      } catch (err) {
        if (!(err instanceof DownloadNotFound)) throw err;
        this.#paths.delete(fileId);
        if (refreshed) throw errors.fileNotFound('the file could not be downloaded');
        // A stale file_path gets one fresh getFile.
        file = await this.#getFile(telegram, fileId, deadline);
      }
    }
  }

  #checkSize(file: TelegramFile): void {
    const max = this.#o.maxFileBytes;
    if (file.fileSize !== undefined && file.fileSize > max) throw errors.fileTooBig(max, `${file.fileSize} bytes`);
    // Telegram leaves file_path out for files it will not serve to bots (over 20 MB).
    if (file.filePath === undefined) throw errors.fileTooBig(max, 'Telegram gives no download path for it');
  }

  #cachedFile(fileId: string): TelegramFile | undefined {
    const hit = this.#paths.get(fileId);
    if (hit && hit.expires > Date.now()) return hit.file;
    if (hit) this.#paths.delete(fileId);
    return undefined;
  }

  async #getFile(telegram: TelegramClient, fileId: string, deadline: Deadline): Promise<TelegramFile> {
    const file = await telegram.getFile(fileId, deadline);
    const max = this.#o.maxFilePaths ?? 100_000;
    if (this.#paths.size >= max) this.#paths.delete(this.#paths.keys().next().value!);
    this.#paths.set(fileId, { file, expires: Date.now() + this.#o.filePathTtlMs });
    return file;
  }

  /** A gzip-only TGS entry asked for by a client that does not take gzip: decode once and keep the JSON. */
  async #addJson(fileId: string, entry: StickerEntry, deadline: Deadline): Promise<StickerEntry> {
    const decoded = await this.#o.pool.decodeTgs(new Uint8Array(entry.gzip!), true, deadline.signal) // a copy: the cached bytes must not move;
    const withJson = makeEntry({ ...entry, plain: decoded.json });
    this.#o.memory.set(fileId, withJson);
    return withJson;
  }
}

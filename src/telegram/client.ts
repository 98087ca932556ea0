import { request, type Dispatcher } from 'undici';
import { errors, AppError } from '../errors.js';
import { Deadline, sleep } from '../deadline.js';
import { TOKEN_CHECK_TIMEOUT_MS, TOKEN_RECHECK_MS } from '../limits.js';
import type { TelegramGate } from './gate.js';
import type { TelegramFile } from '../model/telegram-file.js';
import { parseSticker, parseStickerSet, type SetSticker, type StickerSet } from '../model/sticker-set.js';

export interface TelegramClientOptions {
  botToken: string;
  apiBaseUrl: string;
  downloadBaseUrl: string;
  timeoutMs: number;
  maxRetries: number;
  baseRetryDelayMs: number;
  maxRetryDelayMs: number;
  maxFileBytes: number;
  dispatcher: Dispatcher;
  gate: TelegramGate;
  /** Told of every 429, so other processes can pause too. */
  onRateLimited?: (seconds: number) => void;
}

export interface TelegramCounters {
  getFileCalls: number;
  getStickerSetCalls: number;
  getCustomEmojiStickersCalls: number;
  downloadCalls: number;
  errors: number;
  rateLimited: number;
  retries: number;
  bytesDownloaded: number;
}

/** The download answered 404: the file_path went stale (or never existed). Callers may ask getFile again. */
export class DownloadNotFound extends Error {
  override name = 'DownloadNotFound';
}

/** A failure worth retrying: Telegram 5xx, a dropped connection, an attempt timing out. */
class Transient extends Error {}
/** Telegram said 429. */
class RetryAfter extends Error {
  constructor(readonly seconds: number) {
    super(`rate limited for ${seconds} s`);
  }
}

const MAX_API_BODY = 1 << 20;
const MAX_429_WAITS = 5;

/** Counters of a process that has made no call (or has no client: no token). */
export const noTelegramCalls = (): TelegramCounters => ({ getFileCalls: 0, getStickerSetCalls: 0, getCustomEmojiStickersCalls: 0, downloadCalls: 0, errors: 0, rateLimited: 0, retries: 0, bytesDownloaded: 0 });

/** The Bot API client: getFile, getStickerSet, getCustomEmojiStickers and the file download, over one pooled undici dispatcher. */
export class TelegramClient {
  readonly counters: TelegramCounters = noTelegramCalls();
  readonly #opts: TelegramClientOptions;
  /** When Telegram last rejected the token (Date.now()), or 0 while it accepts it. */
  #rejectedAt = 0;

  constructor(options: TelegramClientOptions) {
    this.#opts = options;
  }

  /** Telegram rejected the token on the last call that reached it (401/403), and no call has succeeded since. */
  get tokenRejected(): boolean {
    return this.#rejectedAt !== 0;
  }

  /**
   * Whether Telegram accepts the token: known from the last call, and asked again with getMe (at most every
   * TOKEN_RECHECK_MS) while it is rejected, so readiness comes back when the token works again.
   */
  async tokenAccepted(): Promise<boolean> {
    if (this.#rejectedAt !== 0 && Date.now() - this.#rejectedAt >= TOKEN_RECHECK_MS) await this.checkToken();
    return this.#rejectedAt === 0;
  }

  /** getMe: learns whether the token is accepted. Any other failure (Telegram down) changes nothing. */
  async checkToken(): Promise<void> {
    const deadline = new Deadline(Math.min(this.#opts.timeoutMs, TOKEN_CHECK_TIMEOUT_MS));
    try {
      const res = await request(`${this.#opts.apiBaseUrl}/bot${this.#opts.botToken}/getMe`, { dispatcher: this.#opts.dispatcher, signal: deadline.signal, method: 'GET' });
      await res.body.dump();
      if (res.statusCode === 200) this.#rejectedAt = 0;
      else if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404) this.#rejectedAt = Date.now();
    } catch {
      // unreachable: nothing learnt
    } finally {
      deadline.dispose();
    }
  }

  /** Replaces the bot token in any text with a placeholder; used wherever upstream text might echo it. */
  redact(text: string): string {
    return text.split(this.#opts.botToken).join('<redacted>');
  }

  getFile(fileId: string, deadline: Deadline): Promise<TelegramFile> {
    return this.#call('getFile', { file_id: fileId }, deadline, parseFile, () => this.counters.getFileCalls++);
  }

  /** A sticker set by name (getStickerSet); an unknown name is Telegram's 400 STICKERSET_INVALID. */
  getStickerSet(name: string, deadline: Deadline): Promise<StickerSet> {
    return this.#call('getStickerSet', { name }, deadline, (r) => parseStickerSet(r, (why) => errors.telegramUnavailable(`getStickerSet returned ${why}`)), () => this.counters.getStickerSetCalls++);
  }

  /** Custom emoji by id (getCustomEmojiStickers, at most 200 ids): Telegram leaves out the ids it does not know. */
  getCustomEmojiStickers(ids: string[], deadline: Deadline): Promise<SetSticker[]> {
    const fail = (why: string) => errors.telegramUnavailable(`getCustomEmojiStickers returned ${why}`);
    return this.#call('getCustomEmojiStickers', { custom_emoji_ids: JSON.stringify(ids) }, deadline, (r) => {
      if (!Array.isArray(r)) throw fail('a result that is not a list');
      return r.map((s) => parseSticker(s, fail));
    }, () => this.counters.getCustomEmojiStickersCalls++);
  }

  /** One Bot API method by GET, with retries: its parsed result, or the failure as the service's error. */
  #call<T>(method: string, params: Record<string, string>, deadline: Deadline, parse: (result: unknown) => T, count?: () => void): Promise<T> {
    const url = `${this.#opts.apiBaseUrl}/bot${this.#opts.botToken}/${method}?${new URLSearchParams(params).toString()}`;
    return this.#withRetries(deadline, async (signal) => {
      count?.();
      const res = await request(url, { dispatcher: this.#opts.dispatcher, signal, method: 'GET' });
      const text = (await readCapped(res.body, MAX_API_BODY)).toString('utf8');
      let body: ApiReply;
      try {
        body = JSON.parse(text) as ApiReply;
      } catch {
        if (res.statusCode >= 500) throw new Transient(`HTTP ${res.statusCode} from Telegram`);
        throw errors.telegramUnavailable(`${method} answered HTTP ${res.statusCode} with a body that is not JSON`);
      }
      if (body.ok === true) {
        this.#rejectedAt = 0;
        return parse(body.result);
      }
      return this.#apiFailure(res.statusCode, body, method);
    });
  }

  download(filePath: string, deadline: Deadline): Promise<Buffer> {
    const url = `${this.#opts.downloadBaseUrl}${this.#opts.botToken}/${encodeURI(filePath)}`;
    return this.#withRetries(deadline, async (signal) => {
      this.counters.downloadCalls++;
      const res = await request(url, { dispatcher: this.#opts.dispatcher, signal, method: 'GET' });
      const status = res.statusCode;
      if (status !== 200) {
        await res.body.dump();
        if (status === 404) throw new DownloadNotFound('file_path not found');
        if (status === 429) throw new RetryAfter(Number(res.headers['retry-after']) || 1);
        if (status === 401 || status === 403) throw this.#rejected();
        if (status >= 500) throw new Transient(`download answered HTTP ${status}`);
        throw errors.telegramUnavailable(`download answered HTTP ${status}`);
      }
      const max = this.#opts.maxFileBytes;
      const declared = Number(res.headers['content-length']);
      if (declared > max) {
        res.body.destroy();
        throw errors.fileTooBig(max, `${declared} bytes`);
      }
      const data = await readCapped(res.body, max, () => errors.fileTooBig(max, `more than ${max} bytes`));
      this.counters.bytesDownloaded += data.length;
      return data;
    });
  }

  #rejected(): AppError {
    this.#rejectedAt = Date.now();
    return errors.telegramAuth();
  }

  #apiFailure(status: number, body: ApiReply, method: string): never {
    const code = typeof body.error_code === 'number' ? body.error_code : status;
    const description = this.redact(String(body.description ?? `HTTP ${status}`));
    if (code === 429) throw new RetryAfter(Number(body.parameters?.retry_after) || 1);
    if (code === 401 || code === 404 || code === 403) throw this.#rejected();
    if (code >= 500) throw new Transient(`HTTP ${code} from Telegram`);
    if (code === 400 && /file is too big/i.test(description)) throw errors.fileTooBig(this.#opts.maxFileBytes, 'Telegram refuses files over 20 MB to bots');
    if (code === 400) throw errors.telegramBadRequest(description);
    throw errors.telegramUnavailable(`${method} answered ${code}`);
  }

  async #withRetries<T>(deadline: Deadline, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let waits429 = 0;
    for (let i = 0; ; ) {
      try {
        return await this.#opts.gate.run(deadline, () => {
          const signal = AbortSignal.any([deadline.signal, AbortSignal.timeout(this.#opts.timeoutMs)]);
          return attempt(signal).catch((err: unknown) => {
            throw this.#classify(err, deadline);
          });
        });
      } catch (err) {
        if (err instanceof RetryAfter) {
          this.counters.rateLimited++;
          this.#opts.gate.pause(err.seconds);
          this.#opts.onRateLimited?.(err.seconds);
          // The gate waits out the pause on the next attempt, or refuses if it outlasts the deadline.
          if (++waits429 <= MAX_429_WAITS) continue;
          throw errors.telegramRateLimited(err.seconds);
        }
        if (!(err instanceof Transient)) {
          if (!(err instanceof DownloadNotFound) && err instanceof AppError && err.statusCode >= 500) this.counters.errors++;
          throw err;
        }
        this.counters.errors++;
        if (i >= this.#opts.maxRetries) throw errors.telegramUnavailable(`${err.message} (after ${i + 1} attempts)`);
        const cap = Math.min(this.#opts.maxRetryDelayMs, this.#opts.baseRetryDelayMs * 2 ** i);
        const delay = cap / 2 + (Math.random() * cap) / 2; // "equal jitter": spread retries, keep a floor
        if (delay >= deadline.remaining()) throw errors.telegramUnavailable(`${err.message} (no time left to retry)`);
        i++;
        this.counters.retries++;
        await sleep(delay, deadline.signal);
      }
    }
  }

  #classify(err: unknown, deadline: Deadline): unknown {
    if (deadline.signal.aborted) return deadline.signal.reason;
    if (err instanceof AppError || err instanceof RetryAfter || err instanceof DownloadNotFound || err instanceof Transient) return err;
    const e = err as { name?: string; code?: string };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return new Transient(`no answer within ${this.#opts.timeoutMs} ms`);
    // undici and socket errors carry codes; their messages may embed the URL, so only the code goes on.
    return new Transient(`connection failed (${e.code ?? e.name ?? 'unknown error'})`);
  }
}

interface ApiReply {
  ok?: boolean;
  result?: unknown;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

function parseFile(r: unknown): TelegramFile {
  const f = (r ?? {}) as Record<string, unknown>;
  if (typeof f.file_id !== 'string' || typeof f.file_unique_id !== 'string') {
    throw errors.telegramUnavailable('getFile returned a result without file_id');
  }
  return {
    fileId: f.file_id,
    fileUniqueId: f.file_unique_id,
    fileSize: typeof f.file_size === 'number' ? f.file_size : undefined,
    filePath: typeof f.file_path === 'string' && f.file_path !== '' ? f.file_path : undefined,
  };
}

/** Reads a body fully, stopping (and destroying the stream) once it passes max bytes. */
async function readCapped(body: Dispatcher.ResponseData['body'], max: number, tooBig?: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > max) {
      body.destroy();
      throw tooBig ? tooBig() : errors.telegramUnavailable(`response larger than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  // A single chunk is returned as is; concat allocates a fresh buffer that owns its memory.
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

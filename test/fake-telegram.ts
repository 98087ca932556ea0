import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real HTTP server speaking the Bot API's getFile, getStickerSet and file download, with the documented shapes
 * ({ ok:false, error_code, description, parameters:{ retry_after } }) and injectable faults.
 */
export interface FakeFile {
  data: Buffer;
  fileUniqueId?: string;
  /** What getFile reports as file_size; defaults to data.length (set it to lie). */
  fileSize?: number;
}

export type Fault =
  | { kind: 'status'; status: number; description?: string; retryAfter?: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'not-json' }
  | { kind: 'delay'; ms: number }
  /** Answers normally once the promise settles: the test decides when, with no timer involved. */
  | { kind: 'hold'; until: Promise<unknown> };

export class FakeTelegram {
  readonly files = new Map<string, FakeFile>();
  readonly calls = { getFile: 0, download: 0 };
  getStickerSetCalls = 0;
  /** Sticker sets by name, as getStickerSet's result (the Bot API's shape: name, title, sticker_type, stickers). */
  readonly sets = new Map<string, Record<string, unknown>>();
  getMeCalls = 0;
  /** Custom emoji by custom_emoji_id, as getCustomEmojiStickers returns each (a Sticker with custom_emoji_id). */
  readonly customEmoji = new Map<string, Record<string, unknown>>();
  /** Ids that make Telegram refuse a whole getCustomEmojiStickers call (400), as it does for a malformed id. */
  readonly customEmojiRefused = new Set<string>();
  /** The ids of each getCustomEmojiStickers call, in order. */
  readonly customEmojiCalls: string[][] = [];
  /** Answer 401 to everything, as Telegram does for a revoked token. */
  revoked = false;
  /** When each call arrived (Date.now()), both endpoints. */
  readonly callTimes: number[] = [];
  /** Faults consumed one per call, in order, for each endpoint. */
  readonly faults: { getFile: Fault[]; download: Fault[] } = { getFile: [], download: [] };
  /** Added to every answer. */
  delayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** Called as each call arrives (with its path), before any answer and before it is counted: lets a test act while a request is under way. */
  onCall?: (path: string) => void;
  #server: Server;
  #sockets = new Set<Socket>();
  #pathGeneration = 0;
  url = '';

  constructor(readonly token = '123456:TEST-token_abcdefghijklmnopqrstuv') {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Files not added one by one: asked for ids the map does not hold (a soak's endless new stickers). */
  fallback?: (fileId: string) => FakeFile | undefined;

  #file(fileId: string): FakeFile | undefined {
    return this.files.get(fileId) ?? this.fallback?.(fileId);
  }

  add(fileId: string, file: FakeFile): this {
    this.files.set(fileId, file);
    return this;
  }

  /** Every file_path handed out so far stops working, as Telegram's do after an hour. */
  expirePaths(): void {
    this.#pathGeneration++;
  }

  resetCounts(): void {
    this.calls.getFile = 0;
    this.calls.download = 0;
    this.getStickerSetCalls = 0;
    this.customEmojiCalls.length = 0;
    this.maxInFlight = 0;
    this.callTimes.length = 0;
  }

  #pathFor(fileId: string): string {
    return `stickers/g${this.#pathGeneration}/${fileId}.bin`;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // getMe (the service's token check) is answered apart: it is not counted as a call.
    const me = /^\/bot([^/]+)\/getMe$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (me) {
      this.getMeCalls++;
      if (me[1] !== this.token || this.revoked) return json(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      return json(res, 200, { ok: true, result: { id: 123456, is_bot: true, first_name: 'fake', username: 'fake_bot' } });
    }
    this.inFlight++;
    this.callTimes.push(Date.now());
    this.onCall?.(req.url ?? '/');
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const api = /^\/bot([^/]+)\/getFile$/.exec(url.pathname);
      const dl = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
      const set = /^\/bot([^/]+)\/getStickerSet$/.exec(url.pathname);
      const emoji = /^\/bot([^/]+)\/getCustomEmojiStickers$/.exec(url.pathname);
      if (emoji) {
        await this.#pause(this.delayMs);
        if (emoji[1] !== this.token || this.revoked) return json(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
        let ids: unknown;
        try {
          ids = JSON.parse(url.searchParams.get('custom_emoji_ids') ?? '');
        } catch {
          ids = undefined;
        }
        if (!Array.isArray(ids) || ids.length > 200 || ids.some((id) => typeof id !== 'string')) {
          return json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: CUSTOM_EMOJI_IDS_INVALID' });
        }
        this.customEmojiCalls.push(ids as string[]);
        if ((ids as string[]).some((id) => this.customEmojiRefused.has(id))) return json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: STICKER_ID_INVALID' });
        // Telegram leaves out the ids it does not know.
        return json(res, 200, { ok: true, result: (ids as string[]).flatMap((id) => this.customEmoji.get(id) ?? []) });
      }
      if (set) {
        this.getStickerSetCalls++;
        await this.#pause(this.delayMs);
        if (set[1] !== this.token || this.revoked) return json(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
        const found = this.sets.get(url.searchParams.get('name') ?? '');
        if (!found) return json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: STICKERSET_INVALID' });
        return json(res, 200, { ok: true, result: found });
      }
      if (api) {
        this.calls.getFile++;
        if (await this.#fault(this.faults.getFile.shift(), res)) return;
        await this.#pause(this.delayMs);
        if (api[1] !== this.token || this.revoked) return json(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
        const fileId = url.searchParams.get('file_id') ?? '';
        const f = this.#file(fileId);
        if (!f) return json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: invalid file_id' });
        const size = f.fileSize ?? f.data.length;
        if (size > 20 * 1024 * 1024) return json(res, 400, { ok: false, error_code: 400, description: 'Bad Request: file is too big' });
        return json(res, 200, {
          ok: true,
          result: { file_id: fileId, file_unique_id: f.fileUniqueId ?? `U_${fileId}`, file_size: size, file_path: this.#pathFor(fileId) },
        });
      }
      if (dl) {
        this.calls.download++;
        if (await this.#fault(this.faults.download.shift(), res)) return;
        await this.#pause(this.delayMs);
        const m = /^stickers\/g(\d+)\/(.+)\.bin$/.exec(decodeURIComponent(dl[2]));
        const f = m && Number(m[1]) === this.#pathGeneration ? this.#file(m[2]) : undefined;
        if (dl[1] !== this.token || !f) return json(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': f.data.length });
        res.end(f.data);
        return;
      }
      json(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    } finally {
      this.inFlight--;
    }
  }

  /** Applies a fault; true when the request has been dealt with. */
  async #fault(f: Fault | undefined, res: ServerResponse): Promise<boolean> {
    if (!f) return false;
    switch (f.kind) {
      case 'delay':
        await this.#pause(f.ms);
        return false;
      case 'hold':
        await f.until;
        return false;
      case 'hang':
        await new Promise<void>((resolve) => res.on('close', resolve));
        return true;
      case 'reset':
        res.socket?.destroy();
        return true;
      case 'not-json':
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<html>Bad Gateway</html>');
        return true;
      case 'status': {
        const body: Record<string, unknown> = { ok: false, error_code: f.status, description: f.description ?? `Error ${f.status}` };
        const headers: Record<string, string> = {};
        if (f.retryAfter !== undefined) {
          body.parameters = { retry_after: f.retryAfter };
          headers['retry-after'] = String(f.retryAfter);
        }
        json(res, f.status, body, headers);
        return true;
      }
    }
  }

  #pause(ms: number): Promise<void> {
    return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

import { errors } from '../errors.js';
import type { Deadline } from '../deadline.js';
import { ExpiringMap } from '../bounded-map.js';
import type { FilePathStore, TelegramFile } from '../model/telegram-file.js';
import type { StoreBudget } from '../model/tiers.js';
import { DownloadNotFound, type TelegramClient } from './client.js';

export interface TelegramFilesOptions {
  telegram: TelegramClient;
  /** How long Telegram keeps a file_path valid (it promises an hour). */
  filePathTtlMs: number;
  maxFileBytes: number;
  /** Where other processes or replicas share the file_paths they got. */
  shared?: FilePathStore;
}

/** Bound on the file_id -> file_path mappings one process remembers (a few hundred bytes each). */
const MAX_FILE_PATHS = 100_000;

/**
 * A sticker's file from Telegram: its description (getFile, remembered in process and in the shared store
 * for as long as the file_path is valid) and its bytes, with one fresh getFile when a file_path went stale.
 */
export class TelegramFiles {
  readonly #opts: TelegramFilesOptions;
  readonly #paths: ExpiringMap<string, TelegramFile>;

  constructor(options: TelegramFilesOptions) {
    this.#opts = options;
    this.#paths = new ExpiringMap(options.filePathTtlMs, MAX_FILE_PATHS);
  }

  /** What getFile says of fileId: remembered here, else shared by another process, else asked. */
  async describe(fileId: string, deadline: Deadline, budget?: StoreBudget): Promise<TelegramFile> {
    return this.#paths.get(fileId) ?? (await this.#fromShared(fileId, budget)) ?? (await this.#getFile(fileId, deadline, budget));
  }

  /** The file's bytes; within MAX_FILE_SIZE_MB or a 413. */
  async download(fileId: string, file: TelegramFile, deadline: Deadline): Promise<Buffer> {
    for (let refreshed = false; ; refreshed = true) {
      this.#checkSize(file);
      try {
        return await this.#opts.telegram.download(file.filePath!, deadline);
      } catch (err) {
        if (!(err instanceof DownloadNotFound)) throw err;
        await this.forget(fileId);
        if (refreshed) throw errors.fileNotFound('the file could not be downloaded');
        file = await this.#getFile(fileId, deadline);
      }
    }
  }

  /** Forgets fileId's file_path here and in the shared store. */
  async forget(fileId: string): Promise<void> {
    this.#paths.delete(fileId);
    await this.#opts.shared?.forget(fileId);
  }

  /** Forgets in this process only (another process has removed the shared copy). */
  forgetLocal(fileId?: string): void {
    if (fileId === undefined) this.#paths.clear();
    else this.#paths.delete(fileId);
  }

  #checkSize(file: TelegramFile): void {
    const max = this.#opts.maxFileBytes;
    if (file.fileSize !== undefined && file.fileSize > max) throw errors.fileTooBig(max, `${file.fileSize} bytes`);
    // Telegram leaves file_path out for files it will not serve to bots (over 20 MB).
    if (file.filePath === undefined) throw errors.fileTooBig(max, 'Telegram gives no download path for it');
  }

  async #fromShared(fileId: string, budget?: StoreBudget): Promise<TelegramFile | undefined> {
    const file = await this.#opts.shared?.get(fileId, budget);
    if (file) this.#paths.set(fileId, file);
    return file;
  }

  async #getFile(fileId: string, deadline: Deadline, budget?: StoreBudget): Promise<TelegramFile> {
    const file = await this.#opts.telegram.getFile(fileId, deadline);
    this.#paths.set(fileId, file);
    await this.#opts.shared?.set(fileId, file, this.#opts.filePathTtlMs, budget);
    return file;
  }
}

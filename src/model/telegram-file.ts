import type { StoreBudget } from './tiers.js';

/** A file as Telegram's getFile describes it. */
export interface TelegramFile {
  fileId: string;
  fileUniqueId: string;
  fileSize?: number;
  filePath?: string;
}

/** Telegram's file_path for a file_id, kept where other processes or replicas can read it. */
export interface FilePathStore {
  get(fileId: string, budget?: StoreBudget): Promise<TelegramFile | undefined>;
  set(fileId: string, file: TelegramFile, ttlMs: number, budget?: StoreBudget): Promise<void>;
  forget(fileId: string): Promise<void>;
}

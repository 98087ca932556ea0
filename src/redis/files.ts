import type { FilePathStore, TelegramFile } from '../model/telegram-file.js';
import type { RedisConnection } from './connection.js';
import type { StoreBudget } from '../model/tiers.js';

/** Telegram's file_path for a file_id, shared by the replicas for as long as Telegram keeps it valid. */
export class SharedFilePaths implements FilePathStore {
  constructor(private readonly conn: RedisConnection) {}

  async get(fileId: string, budget?: StoreBudget): Promise<TelegramFile | undefined> {
    return this.conn.safe(async (c) => {
      const v = await c.get(this.key(fileId));
      return v === null ? undefined : (JSON.parse(v) as TelegramFile);
    }, undefined, budget);
  }

  async set(fileId: string, file: TelegramFile, ttlMs: number, budget?: StoreBudget): Promise<void> {
    await this.conn.safe(async (c) => c.set(this.key(fileId), JSON.stringify(file), 'PX', ttlMs), undefined, budget);
  }

  async forget(fileId: string): Promise<void> {
    await this.conn.safe(async (c) => c.unlink(this.key(fileId)), 0);
  }

  key(fileId: string): string {
    return this.conn.key(`path:${fileId}`);
  }
}

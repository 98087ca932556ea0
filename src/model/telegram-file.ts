/** A file as Telegram's getFile describes it. */
export interface TelegramFile {
  fileId: string;
  fileUniqueId: string;
  fileSize?: number;
  filePath?: string;
}

import { Transform } from 'node:stream';
import { ZipFile } from 'yazl';
import { extensionFor } from '../formats.js';
import type { StickerSet } from '../model/sticker-set.js';
import { failureOf, notReached, runBounded, type Failure } from './set-work.js';

/** One sticker of the set as the archive needs it: its bytes and its output format. */
export type ArchiveMember = (fileId: string) => Promise<{ body: Buffer; output: string }>;

const ARCHIVE_AHEAD_BYTES = 8 * 1024 * 1024;

// Entries carry one fixed time: the same set and options make the same bytes.
const MTIME = new Date('2020-01-01T00:00:00Z');

/**
 * A ZIP of a set, streamed as it is built: each sticker through `member` (the normal path: caches, Telegram,
 * the engine), `concurrency` at a time, stored as made (images and videos are compressed already), named
 * `<index>_<emoji or file_unique_id>.<ext>`; then manifest.json listing what was delivered and what failed and
 * why. When `stop` aborts (the client left, or ARCHIVE_TIMEOUT_SEC passed) no more stickers are started: the
 * ones not reached are listed as failed and the archive is closed.
 */
export function streamArchive(
  set: StickerSet,
  member: ArchiveMember,
  o: {
    concurrency: number;
    stop: AbortSignal;
    query: Record<string, unknown>;
    onDone?: (counts: { delivered: number; failed: number; stopped: boolean }) => void;
    /** Told when a reader has fallen behind and the next sticker waits for it (bytes not yet read). */
    onHold?: (aheadBytes: number) => void;
    /** Default ARCHIVE_AHEAD_BYTES (8 MB). */
    aheadBytes?: number;
  },
): NodeJS.ReadableStream {
  const zip = new ZipFile();
  const width = String(Math.max(0, set.stickers.length - 1)).length;
  const delivered: Array<{ index: number; file_id: string; entry: string }> = [];
  const failed: Failure[] = [];
  // Bytes added and not yet read out: a client that reads slowly holds back the next conversions, so the
  // archive never piles up more than ARCHIVE_AHEAD_BYTES in memory.
  let ahead = 0;
  // Every lane waiting for the reader (with ARCHIVE_CONCURRENCY > 1, more than one).
  const waiting: Array<() => void> = [];
  const wake = () => waiting.splice(0).forEach((resume) => resume());
  // Counts what the client has taken (a transform runs as its reader reads).
  const out = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      ahead = Math.max(0, ahead - chunk.length);
      wake();
      done(null, chunk);
    },
  });
  zip.outputStream.pipe(out);
  // One listener for the whole archive (one per wait would pile up on a slow reader).
  o.stop.addEventListener('abort', wake, { once: true });
  const limit = o.aheadBytes ?? ARCHIVE_AHEAD_BYTES;
  const caughtUp = async () => {
    if (ahead > limit && !o.stop.aborted) o.onHold?.(ahead);
    while (ahead > limit && !o.stop.aborted) await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const one = async (index: number) => {
    await caughtUp();
    const s = set.stickers[index];
    if (o.stop.aborted) return void failed.push(notReached(index, s.fileId, o.stop, 'ARCHIVE_TIMEOUT_SEC'));
    try {
      const { body, output } = await member(s.fileId);
      const entry = `${String(index).padStart(width, '0')}_${label(s.emoji) || s.fileUniqueId}.${extensionFor(output)}`;
      zip.addBuffer(body, entry, { compress: false, mtime: MTIME });
      ahead += body.length;
      delivered.push({ index, file_id: s.fileId, entry });
    } catch (err) {
      failed.push(failureOf(index, s.fileId, err));
    }
  };
  void runBounded(set.stickers.length, o.concurrency, one).then(() => {
    const byIndex = <T extends { index: number }>(xs: T[]) => xs.sort((a, b) => a.index - b.index);
    const manifest = { name: set.name, title: set.title, sticker_type: set.stickerType, query: o.query, stickers: set.stickers.length, delivered: byIndex(delivered), failed: byIndex(failed) };
    zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'manifest.json', { mtime: MTIME });
    zip.end();
    o.onDone?.({ delivered: delivered.length, failed: failed.length, stopped: o.stop.aborted });
  });
  return out;
}

/** An emoji (or any label) made safe as a file name: no path separators, control or reserved characters. */
function label(emoji: string | undefined): string {
  return (emoji ?? '').replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '').slice(0, 16);
}

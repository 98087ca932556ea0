import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { threadId } from 'node:worker_threads';

/** An ffmpeg child as every caller here runs one: input on stdin, stderr kept (its tail) for the error message. */
export interface FfmpegChild {
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  /** Its exit code, or the spawn error; never an unhandled rejection. */
  exit: Promise<number | null>;
  /** Why it failed, for an error message: its last line on stderr, else its exit code. */
  reason(code: number | null): string;
}

export function runFfmpeg(path: string, args: string[]): FfmpegChild {
  const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  child.stdin.on('error', () => undefined); // ffmpeg may stop reading early on bad input; its exit code tells
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  exit.catch(() => undefined);
  return { child, exit, reason: (code) => stderr.trim().split('\n').pop() || `exit ${code}` };
}

let files = 0;

/** A path of its own in the temporary directory (process, thread and a counter), for files ffmpeg must seek in. */
export const tempFile = (ext: string) => join(tmpdir(), `sticker-processor-${process.pid}-${threadId}-${files++}.${ext}`);

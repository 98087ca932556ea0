import { AppError } from '../errors.js';

/** A sticker of a set (or of a combine) that could not be delivered, and why: what manifests and headers list. */
export interface Failure {
  index: number;
  file_id: string;
  code: string;
  message: string;
}

/** The failure an error makes: a typed error keeps its code and message; anything else stays private. */
export function failureOf(index: number, fileId: string, err: unknown): Failure {
  const e = err instanceof AppError ? err : undefined;
  return { index, file_id: fileId, code: e?.code ?? 'INTERNAL', message: e?.message ?? 'Internal Server Error' };
}

/** A sticker never started because `stop` aborted: the client left, or the whole job's deadline passed. */
export function notReached(index: number, fileId: string, stop: AbortSignal, deadlineSetting: string): Failure {
  const timedOut = stop.reason instanceof Error && stop.reason.name === 'TimeoutError';
  return { index, file_id: fileId, code: 'NOT_REACHED', message: timedOut ? `not converted within ${deadlineSetting}` : 'the client left before this sticker' };
}

/** Runs job(0..count-1) in index order, at most `concurrency` at a time; resolves when all have ended. */
export async function runBounded(count: number, concurrency: number, job: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, lane));
}

import type { IncomingMessage } from 'node:http';
import { errors, type AppError } from '../errors.js';
import { MULTIPART_OVERHEAD_BYTES, UPLOAD_PACE_WINDOW_MS } from '../limits.js';
import type { UploadBudget } from './budget.js';
import { multipartSink, type MultipartSink } from './multipart.js';

export interface UploadLimits {
  /** Largest file (MAX_UPLOAD_MB). */
  maxBytes: number;
  timeoutMs: number;
  minBytesPerSec: number;
}

export interface Upload {
  data: Buffer;
  /** Bytes taken from the budget: give them back when the response is done. */
  held: number;
}

/**
 * A request body read into memory within bounds: complete within timeoutMs, never slower than
 * minBytesPerSec over a window, at most maxBytes, and within the process's upload budget (503 past it).
 * Any content type is the file itself, except multipart/form-data, whose first file part is. Nothing is
 * parsed here: the bytes go to the pool as they are.
 */
export function readUpload(req: IncomingMessage, limits: UploadLimits, budget: UploadBudget): Promise<Upload> {
  const multipart = /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '');
  const maxRaw = limits.maxBytes + (multipart ? MULTIPART_OVERHEAD_BYTES : 0);
  const announced = Number(req.headers['content-length']);
  if (announced > maxRaw) return Promise.reject(errors.fileTooBig(limits.maxBytes, `${announced} bytes announced`));

  return new Promise<Upload>((resolve, reject) => {
    let sink: MultipartSink | undefined;
    try {
      sink = multipart ? multipartSink(req.headers, limits.maxBytes) : undefined;
    } catch (err) {
      reject(err);
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let atWindowStart = 0;
    let held = 0;
    let settled = false;

    const finish = () => {
      settled = true;
      clearTimeout(overall);
      clearInterval(pace);
      req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
    };
    const fail = (err: AppError | Error) => {
      if (settled) return;
      finish();
      sink?.abort();
      chunks.length = 0;
      budget.release(held);
      reject(err);
    };
    const overall = setTimeout(() => fail(errors.uploadTimeout(limits.timeoutMs)), limits.timeoutMs);
    const minPerWindow = (limits.minBytesPerSec * UPLOAD_PACE_WINDOW_MS) / 1000;
    const pace = setInterval(() => {
      if (received - atWindowStart < minPerWindow) fail(errors.uploadTooSlow(limits.minBytesPerSec));
      atWindowStart = received;
    }, UPLOAD_PACE_WINDOW_MS);

    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxRaw) return fail(errors.fileTooBig(limits.maxBytes, `over ${limits.maxBytes} bytes`));
      if (!budget.take(chunk.length)) return fail(errors.uploadsBusy());
      held += chunk.length;
      if (sink) sink.write(chunk);
      else chunks.push(chunk);
    };
    const onEnd = () => {
      if (settled) return;
      finish();
      const body = sink ? sink.done() : Promise.resolve(Buffer.concat(chunks, received));
      body.then(
        (data) => resolve({ data, held }),
        (err: Error) => {
          budget.release(held);
          reject(err);
        },
      );
    };
    // The client went away (or reset the socket) before the end: nothing to answer, only memory to give back.
    const onGone = () => fail(errors.uploadAborted());
    req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}

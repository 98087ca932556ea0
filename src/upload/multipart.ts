import type { IncomingHttpHeaders } from 'node:http';
import { errors } from '../errors.js';

/** Where a multipart body's bytes go as they arrive; done() gives the first file part. */
export interface MultipartSink {
  write(chunk: Buffer): void;
  done(): Promise<Buffer>;
  abort(): void;
}

/**
 * The first file of a multipart/form-data body (the way browsers and `curl -F` send files), at most
 * maxBytes; other fields are skipped. Busboy is loaded on the first multipart upload only.
 */
export function multipartSink(headers: IncomingHttpHeaders, maxBytes: number): MultipartSink {
  const { Busboy } = require('@fastify/busboy') as typeof import('@fastify/busboy');
  let parser: ReturnType<typeof Busboy>;
  try {
    parser = Busboy({ headers: headers as IncomingHttpHeaders & { 'content-type': string }, limits: { files: 1, fileSize: maxBytes, fields: 16, parts: 32 } });
  } catch (err) {
    throw errors.badMultipart((err as Error).message);
  }
  const parts: Buffer[] = [];
  let failure: Error | undefined;
  let sawFile = false;
  parser.on('file', (_field, stream) => {
    sawFile = true;
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('limit', () => (failure ??= errors.fileTooBig(maxBytes, `the file is over ${maxBytes} bytes`)));
  });
  const finished = new Promise<void>((resolve) => {
    parser.on('finish', resolve);
    parser.on('error', (err: unknown) => {
      failure ??= errors.badMultipart((err as Error).message);
      resolve();
    });
  });
  return {
    write: (chunk) => void parser.write(chunk),
    async done() {
      parser.end();
      await finished;
      if (failure) throw failure;
      if (!sawFile) throw errors.emptyUpload();
      return Buffer.concat(parts);
    },
    abort: () => parser.destroy(),
  };
}

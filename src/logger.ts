import pino, { type Logger, type DestinationStream } from 'pino';
import { redactor } from './redact.js';

/** pino writing through a filter that blanks every secret (redact.ts). */
export function createLogger(opts: { level: string; secrets: Array<string | undefined>; destination?: DestinationStream; name?: string }): Logger {
  const dest = opts.destination ?? pino.destination({ dest: 1, sync: false });
  const redact = redactor(opts.secrets);
  const stream: DestinationStream = redact ? { write: (line: string) => void dest.write(redact(line)) } : dest;
  return pino({ level: opts.level, name: opts.name, base: { pid: process.pid } }, stream);
}

export type { Logger };

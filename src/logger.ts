import pino, { type Logger, type DestinationStream } from 'pino';

/**
 * pino writing through a filter that blanks every secret. Code never logs the bot token on purpose;
 * this catches the accidental case (an upstream error echoing a URL) before it reaches any sink.
 */
export function createLogger(opts: { level: string; secrets: Array<string | undefined>; destination?: DestinationStream; name?: string }): Logger {
  const dest = opts.destination ?? pino.destination({ dest: 1, sync: false });
  const secrets = opts.secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8);
  const stream: DestinationStream =
    secrets.length === 0
      ? dest
      : {
          write(line: string) {
            for (const s of secrets) if (line.includes(s)) line = line.split(s).join('<redacted>');
            dest.write(line);
          },
        };
  return pino({ level: opts.level, name: opts.name, base: { pid: process.pid } }, stream);
}

export type { Logger };

import { writeSync } from 'node:fs';
import { redactor } from '../redact.js';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;

export type PrimaryLog = Record<'info' | 'error' | 'fatal', (fields: Record<string, unknown>, msg: string) => void>;

/**
 * The primary's log: the same JSON lines as the workers' pino (level, time, pid, name, msg, fields), for the
 * few lines a supervisor writes. Written synchronously, so the last line before an exit is never lost, and
 * without pino, which would cost the primary about 7 MiB for them (BENCHMARKS.md).
 */
export function primaryLog(level: string, secrets: Array<string | undefined>): PrimaryLog {
  const threshold = LEVELS[level as keyof typeof LEVELS] ?? LEVELS.info;
  const redact = redactor(secrets) ?? ((l: string) => l);
  const at = (name: keyof typeof LEVELS) => (fields: Record<string, unknown>, msg: string) => {
    if (LEVELS[name] < threshold) return;
    writeSync(1, redact(`${JSON.stringify({ level: LEVELS[name], time: Date.now(), pid: process.pid, name: 'primary', ...fields, msg })}\n`));
  };
  return { info: at('info'), error: at('error'), fatal: at('fatal') };
}

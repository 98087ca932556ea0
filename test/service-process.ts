import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeTelegram } from './fake-telegram.js';
import { freePort } from './redis-server.js';
export { freePort };

const mainJs = join(__dirname, '..', 'src', 'main.js');

/** A service process (primary and WORKERS workers) on a free port, against the fake Telegram; resolves once every worker listens. */
export async function startService(fake: FakeTelegram, env: Record<string, string> = {}) {
  const port = await freePort();
  const workers = Number(env.WORKERS ?? 2);
  const child = spawn(process.execPath, [mainJs], {
    env: {
      ...process.env,
      WORKERS: String(workers),
      SERVER_PORT: String(port),
      SERVER_HOST: '127.0.0.1',
      TELEGRAM_BOT_TOKEN: fake.token,
      TELEGRAM_API_BASE_URL: fake.url,
      MAX_PROCESS_WORKERS: '1',
      LOG_LEVEL: 'info',
      ACCESS_LOG: 'false',
      DISK_CACHE_DIR: mkdtempSync(join(tmpdir(), 'sp-service-')),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs = watchLogs(child);
  await logs.until((l) => l.msg === 'worker listening', workers);
  return { child, logs, port, base: `http://127.0.0.1:${port}` };
}

/** Resolves with the exit code once the child has exited. */
export const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));

/** Collects a child's JSON log lines and resolves waits when a matching line arrives. */
export function watchLogs(child: ChildProcess) {
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: () => void }> = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const raw = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const line = JSON.parse(raw) as Record<string, unknown>;
        lines.push(line);
        for (const w of [...waiters]) if (w.pred(line)) waiters.splice(waiters.indexOf(w), 1) && w.resolve();
      } catch {
        /* not a log line */
      }
    }
  });
  const count = (pred: (l: Record<string, unknown>) => boolean) => lines.filter(pred).length;
  return {
    lines,
    count,
    /** Resolves once n lines in total match. */
    until(pred: (l: Record<string, unknown>) => boolean, n = 1): Promise<void> {
      if (count(pred) >= n) return Promise.resolve();
      return new Promise((resolve) => {
        const w = { pred: (l: Record<string, unknown>) => pred(l) && count(pred) >= n, resolve };
        waiters.push(w);
      });
    },
  };
}

import type { ChildProcess } from 'node:child_process';
export { freePort } from './redis-server.js';

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

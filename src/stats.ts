import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';

/** One process's counters, as /cache/stats reports them before summing. */
export interface ProcessStats {
  pid: number;
  memory: { hits: number; misses: number; items: number; bytes: number; maxBytes: number; evictions: number };
  telegram: { getFileCalls: number; downloadCalls: number; errors: number; rateLimited: number; retries: number; bytesDownloaded: number };
  coalesced: number;
  coalescedAcrossProcesses: number;
  pool: { threads: number; queued: number; completed: number };
  /** POST /convert bodies this process holds, and its bound (UPLOAD_MAX_INFLIGHT_MB). */
  uploads: { bytesHeld: number; maxBytes: number; refusedBusy: number };
  redis: { hits: number; misses: number; errors: number; writes: number; skippedTooLarge: number };
  /** This process's lookups in the disk tier (the store itself is one for the host: its totals are reported once). */
  disk: { hits: number; misses: number; errors: number; writes: number; skippedTooLarge: number };
  process: { rssBytes: number; heapUsedBytes: number; heapTotalBytes: number; externalBytes: number; uptimeSec: number };
}

/** Gathers every serving process's stats: just this one, or all cluster workers via the primary. */
export interface StatsCollector {
  /** The app hands over how to read its own counters, once, when it is built. */
  attach(local: () => ProcessStats): void;
  collect(): Promise<ProcessStats[]>;
  close(): void;
}

export function localStats(): StatsCollector {
  let local: (() => ProcessStats) | undefined;
  return {
    attach: (fn) => (local = fn),
    collect: async () => (local ? [local()] : []),
    close: () => {},
  };
}

type Msg =
  | { type: 'stats:collect'; id: string }
  | { type: 'stats:request'; id: string }
  | { type: 'stats:reply'; id: string; stats: ProcessStats }
  | { type: 'stats:result'; id: string; all: ProcessStats[] };

const isMsg = (m: unknown): m is Msg => typeof m === 'object' && m !== null && String((m as Msg).type).startsWith('stats:');

/** Worker side of the IPC exchange: asks the primary to poll every worker, and answers the primary's polls. */
export function clusterWorkerStats(timeoutMs = 1000): StatsCollector {
  let local: () => ProcessStats = () => {
    throw new Error('stats source not attached');
  };
  const pending = new Map<string, (all: ProcessStats[]) => void>();
  const onMessage = (m: unknown) => {
    if (!isMsg(m)) return;
    if (m.type === 'stats:request') process.send!({ type: 'stats:reply', id: m.id, stats: local() } satisfies Msg);
    else if (m.type === 'stats:result') pending.get(m.id)?.(m.all);
  };
  process.on('message', onMessage);
  return {
    attach: (fn) => (local = fn),
    collect: () =>
      new Promise((resolve) => {
        const id = randomUUID();
        // If the primary does not answer in time, report at least this worker.
        const t = setTimeout(() => {
          pending.delete(id);
          resolve([local()]);
        }, timeoutMs);
        pending.set(id, (all) => {
          clearTimeout(t);
          pending.delete(id);
          resolve(all.length > 0 ? all : [local()]);
        });
        process.send!({ type: 'stats:collect', id } satisfies Msg);
      }),
    close: () => process.off('message', onMessage),
  };
}

/** Primary side: fans a worker's collect request out to all workers and answers with what came back in time. */
export function servePrimaryStats(timeoutMs = 800): void {
  cluster.on('message', (asker, m: unknown) => {
    if (!isMsg(m) || m.type !== 'stats:collect') return;
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
    const all: ProcessStats[] = [];
    const pollId = randomUUID();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(t);
      cluster.off('message', onReply);
      if (asker.isConnected()) asker.send({ type: 'stats:result', id: m.id, all } satisfies Msg);
    };
    const onReply = (_w: unknown, r: unknown) => {
      if (isMsg(r) && r.type === 'stats:reply' && r.id === pollId) {
        all.push(r.stats);
        if (all.length === workers.length) finish();
      }
    };
    const t = setTimeout(finish, timeoutMs);
    cluster.on('message', onReply);
    for (const w of workers) w!.send({ type: 'stats:request', id: pollId } satisfies Msg);
  });
}

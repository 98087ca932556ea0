import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import type { TelegramCounters } from './telegram/client.js';

/** One process's counters, as /cache/stats reports them before summing. */
export interface ProcessStats {
  pid: number;
  memory: { hits: number; misses: number; items: number; bytes: number; maxBytes: number; evictions: number };
  telegram: TelegramCounters;
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

/** What each serving process can be asked for: its counters, and its Prometheus metrics (as JSON). */
export interface Sources {
  stats: ProcessStats;
  metrics: unknown[];
}
export type SourceName = keyof Sources;

/** Gathers every serving process's stats or metrics: just this one, or all cluster workers via the primary. */
export interface StatsCollector {
  /** The app hands over how to read each of its own sources, once, when it is built. */
  attach<K extends SourceName>(name: K, local: () => Sources[K] | Promise<Sources[K]>): void;
  collect<K extends SourceName>(name: K): Promise<Array<Sources[K]>>;
  close(): void;
}

type Local = { [K in SourceName]?: () => Sources[K] | Promise<Sources[K]> };

async function read<K extends SourceName>(locals: Local, name: K): Promise<Array<Sources[K]>> {
  const fn = locals[name] as (() => Sources[K] | Promise<Sources[K]>) | undefined;
  return fn ? [await fn()] : [];
}

export function localStats(): StatsCollector {
  const locals: Local = {};
  return {
    attach: (name, fn) => void (locals[name] = fn as never),
    collect: (name) => read(locals, name),
    close: () => {},
  };
}

type Msg =
  | { type: 'stats:collect'; id: string; name: SourceName }
  | { type: 'stats:request'; id: string; name: SourceName }
  | { type: 'stats:reply'; id: string; value: unknown }
  | { type: 'stats:result'; id: string; all: unknown[] };

const isMsg = (m: unknown): m is Msg => typeof m === 'object' && m !== null && String((m as Msg).type).startsWith('stats:');

/** Worker side of the IPC exchange: asks the primary to poll every worker, and answers the primary's polls. */
export function clusterWorkerStats(timeoutMs = 1000): StatsCollector {
  const locals: Local = {};
  const pending = new Map<string, (all: unknown[]) => void>();
  const onMessage = (m: unknown) => {
    if (!isMsg(m)) return;
    if (m.type === 'stats:request') {
      void read(locals, m.name).then(([value]) => process.send!({ type: 'stats:reply', id: m.id, value } satisfies Msg));
    } else if (m.type === 'stats:result') pending.get(m.id)?.(m.all);
  };
  process.on('message', onMessage);
  return {
    attach: (name, fn) => void (locals[name] = fn as never),
    collect: <K extends SourceName>(name: K) =>
      new Promise<Array<Sources[K]>>((resolve) => {
        const id = randomUUID();
        // If the primary does not answer in time, report at least this worker.
        const t = setTimeout(() => {
          pending.delete(id);
          void read(locals, name).then(resolve);
        }, timeoutMs);
        pending.set(id, (all) => {
          clearTimeout(t);
          pending.delete(id);
          if (all.length > 0) resolve(all as Array<Sources[K]>);
          else void read(locals, name).then(resolve);
        });
        process.send!({ type: 'stats:collect', id, name } satisfies Msg);
      }),
    close: () => process.off('message', onMessage),
  };
}

/** Primary side: fans a worker's collect request out to all workers and answers with what came back in time. */
export function servePrimaryStats(timeoutMs = 800): void {
  cluster.on('message', (asker, m: unknown) => {
    if (!isMsg(m) || m.type !== 'stats:collect') return;
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
    const all: unknown[] = [];
    let replies = 0;
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
        if (r.value !== undefined) all.push(r.value);
        if (++replies === workers.length) finish();
      }
    };
    const t = setTimeout(finish, timeoutMs);
    cluster.on('message', onReply);
    for (const w of workers) w!.send({ type: 'stats:request', id: pollId, name: m.name } satisfies Msg);
  });
}

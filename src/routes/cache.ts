import type { FastifyInstance } from 'fastify';
import type { ProcessStats } from '../stats.js';

const rate = (hits: number, misses: number) => (hits + misses === 0 ? 0 : Math.round((hits / (hits + misses)) * 10_000) / 10_000);

/** Sums per-process counters into one view of the whole service (all cluster workers). */
export function summarize(all: ProcessStats[]) {
  const sum = <K extends 'memory' | 'telegram'>(k: K) => {
    const out: Record<string, number> = {};
    for (const p of all) for (const [name, v] of Object.entries(p[k])) out[name] = (out[name] ?? 0) + v;
    return out as ProcessStats[K];
  };
  const memory = sum('memory');
  return {
    workers: all.length,
    memory: { ...memory, hitRate: rate(memory.hits, memory.misses) },
    redis: { enabled: false },
    telegram: sum('telegram'),
    coalesced: all.reduce((n, p) => n + p.coalesced, 0),
    rssBytes: all.reduce((n, p) => n + p.process.rssBytes, 0),
    processes: all,
  };
}

export async function cacheRoutes(app: FastifyInstance): Promise<void> {
  app.get('/cache/stats', async () => summarize(await app.stats.collect()));
}

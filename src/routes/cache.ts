import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ProcessStats } from '../stats.js';
import { bearerMatches } from '../bearer.js';
import { errors } from '../errors.js';
import { validateFileId } from '../sticker/service.js';

const rate = (hits: number, misses: number) => (hits + misses === 0 ? 0 : Math.round((hits / (hits + misses)) * 10_000) / 10_000);

/** Sums per-process counters into one view of the whole service (all cluster workers). */
export function summarize(all: ProcessStats[], redisShared: Record<string, unknown>, diskShared: Record<string, unknown>) {
  const sum = <K extends 'memory' | 'telegram' | 'redis' | 'uploads' | 'disk'>(k: K) => {
    const out: Record<string, number> = {};
    for (const p of all) for (const [name, v] of Object.entries(p[k])) out[name] = (out[name] ?? 0) + v;
    return out as ProcessStats[K];
  };
  const memory = sum('memory');
  const redis = sum('redis');
  const disk = sum('disk');
  return {
    workers: all.length,
    memory: { ...memory, hitRate: rate(memory.hits, memory.misses) },
    disk: { ...diskShared, ...disk, hitRate: rate(disk.hits, disk.misses) },
    redis: { ...redisShared, ...redis, hitRate: rate(redis.hits, redis.misses) },
    telegram: sum('telegram'),
    uploads: sum('uploads'),
    coalesced: all.reduce((n, p) => n + p.coalesced, 0),
    coalescedAcrossProcesses: all.reduce((n, p) => n + p.coalescedAcrossProcesses, 0),
    rssBytes: all.reduce((n, p) => n + p.process.rssBytes, 0),
    processes: all,
  };
}

export async function cacheRoutes(app: FastifyInstance): Promise<void> {
  app.get('/cache/stats', async () => {
    const [all, shared] = await Promise.all([app.stats.collect('stats'), app.redis ? app.redis.stats() : { enabled: false }]);
    // The disk store is one for the host: its totals come from it once, not summed over the workers.
    const disk = app.disk ? { enabled: true, usable: app.disk.usable, ...app.disk.totals() } : { enabled: false };
    return summarize(all, shared, disk);
  });

  const token = app.config.adminToken ? Buffer.from(app.config.adminToken) : undefined;
  const authorize = (req: FastifyRequest) => {
    if (!token) throw errors.adminDisabled();
    if (!bearerMatches(req.headers.authorization, token)) throw errors.unauthorized();
  };

  // A static path wins over a parametric one in the router, so "all" is never taken for a file id.
  // Never callable from another origin's page (edge-guards.ts: no CORS headers on DELETE, and DELETE is not
  // a method a preflight allows).
  app.delete('/cache/all', async (req) => {
    authorize(req);
    const removed = await app.stickers.clear();
    return { status: 'cleared', redisKeysRemoved: removed.redis ?? 0, diskEntriesRemoved: removed.disk ?? 0 };
  });

  app.delete<{ Params: { fileId: string } }>('/cache/:fileId', async (req) => {
    authorize(req);
    validateFileId(req.params.fileId);
    await app.stickers.invalidate(req.params.fileId);
    return { status: 'deleted', fileId: req.params.fileId };
  });
}

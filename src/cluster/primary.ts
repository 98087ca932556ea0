import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { servePrimaryStats } from '../stats.js';
import { relayBusEvents } from '../bus.js';

const STABLE_MS = 30_000; // a worker that lived this long resets its slot's back-off
const MAX_BACKOFF_MS = 30_000;

/**
 * Workers get a 4 MiB young-generation semi-space unless the operator chose one: with both cores converting
 * it and MALLOC_ARENA_MAX=2 cut the service's peak RSS from about 540 to 470 MiB at the same throughput
 * (BENCHMARKS.md).
 */
export function workerExecArgv(execArgv: string[], nodeOptions = ''): string[] {
  const chosen = [...execArgv, nodeOptions].some((a) => a.includes('--max-semi-space-size'));
  return chosen ? execArgv : [...execArgv, '--max-semi-space-size=4'];
}

/** The primary: forks WORKERS workers, restarts any that dies (with back-off), and stops them on SIGTERM. */
export function runPrimary(config: Config): void {
  const log = createLogger({ level: config.server.logLevel, secrets: [config.telegram.botToken], name: 'primary' });
  servePrimaryStats();
  relayBusEvents();
  const slots = new Map<Worker, { slot: number; started: number }>();
  const crashes = new Map<number, number>();
  let stopping = false;

  cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
  const fork = (slot: number) => {
    // Two malloc arenas: libvips' and libuv's threads otherwise each grow an arena of their own.
    const w = cluster.fork({ STICKER_WORKER_SLOT: String(slot), MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' });
    slots.set(w, { slot, started: Date.now() });
  };

  cluster.on('exit', (w, code, signal) => {
    const info = slots.get(w);
    slots.delete(w);
    if (stopping || !info) return;
    const lived = Date.now() - info.started;
    const n = lived > STABLE_MS ? 0 : (crashes.get(info.slot) ?? 0) + 1;
    crashes.set(info.slot, n);
    const delay = n === 0 ? 0 : Math.min(MAX_BACKOFF_MS, 100 * 2 ** (n - 1));
    const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
    log.error({ workerPid: w.process.pid, code, signal, livedMs: lived, restartInMs: delay }, `worker ${w.process.pid} ${why}; restarting`);
    setTimeout(() => !stopping && fork(info.slot), delay).unref();
  });
  cluster.on('listening', (w, addr) => log.info({ workerPid: w.process.pid, port: addr.port }, 'worker listening'));

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping workers');
    for (const w of slots.keys()) w.process.kill('SIGTERM');
    const force = setTimeout(() => {
      for (const w of slots.keys()) w.process.kill('SIGKILL');
      process.exit(1);
    }, 10_000);
    force.unref();
    const check = () => {
      if (slots.size === 0) process.exit(0);
    };
    cluster.on('exit', check);
    check();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  log.info({ workers: config.server.workers, port: config.server.port, threadsPerWorker: config.pool.threads }, 'starting');
  for (let i = 0; i < config.server.workers; i++) fork(i);
}

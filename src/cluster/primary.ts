import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config.js';
import { primaryLog } from './log.js';
import { servePrimaryStats } from '../stats.js';
import { relayBusEvents } from '../bus.js';
import { describeStartFailure, isPermanent, isStartFailure, type StartFailure } from './start-failure.js';

const STABLE_MS = 30_000; // a worker that lived this long resets its slot's back-off
const MAX_BACKOFF_MS = 30_000;
/** A slot whose workers die this many times in a row before listening makes the primary give up. */
export const MAX_START_FAILURES = 5;
/** Bytes of free memory at the top of a malloc heap past which glibc gives it back (its initial default). */
const MALLOC_TRIM_THRESHOLD = 128 * 1024;

/**
 * Workers get a 4 MiB young-generation semi-space unless the operator chose one: with both cores converting
 * it cut the service's peak RSS by about 25 MiB at the same throughput (BENCHMARKS.md).
 */
export function workerExecArgv(execArgv: string[], nodeOptions = ''): string[] {
  const chosen = [...execArgv, nodeOptions].some((a) => a.includes('--max-semi-space-size'));
  return chosen ? execArgv : [...execArgv, '--max-semi-space-size=4'];
}

interface SlotWorker {
  slot: number;
  started: number;
  listening: boolean;
  /** Why it could not start, as the worker reported it. */
  failure?: StartFailure;
}

/**
 * The primary: forks WORKERS workers, restarts any that dies (with back-off), and stops them on SIGTERM.
 * When workers cannot come up (a listen error no restart cures, or a slot failing MAX_START_FAILURES times
 * in a row before listening) it logs the cause once and exits 1, so a supervisor sees a failure.
 */
export function runPrimary(config: Config): void {
  const log = primaryLog(config.server.logLevel, [config.telegram.botToken, config.redis?.password, config.adminToken, config.access.uploadToken, ...(config.access.signingKeys ?? [])]);
  servePrimaryStats();
  relayBusEvents();
  const slots = new Map<Worker, SlotWorker>();
  const crashes = new Map<number, number>();
  const startFailures = new Map<number, number>();
  let stopping = false;

  cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
  const fork = (slot: number): Worker => {
    // A fixed malloc trim threshold: glibc otherwise raises it as large buffers come and go, and memory freed
    // by a conversion (or by a pool thread that exited) stays with the process. Measured: idle 176 instead of
    // 179-198 MiB, converting peak 416 instead of 472 MiB, same throughput (BENCHMARKS.md).
    const w = cluster.fork({ STICKER_WORKER_SLOT: String(slot), MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ ?? String(MALLOC_TRIM_THRESHOLD) });
    slots.set(w, { slot, started: Date.now(), listening: false });
    return w;
  };
  /** Workers being replaced by a rolling restart: their exit is expected. */
  const retiring = new Set<Worker>();

  cluster.on('message', (w, m: unknown) => {
    const info = slots.get(w);
    if (info && isStartFailure(m)) info.failure = m;
  });
  cluster.on('exit', (w, code, signal) => {
    const info = slots.get(w);
    slots.delete(w);
    if (retiring.delete(w) || stopping || !info) return;
    const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (!info.listening) {
      const failures = (startFailures.get(info.slot) ?? 0) + 1;
      startFailures.set(info.slot, failures);
      const f = info.failure;
      if (f && isPermanent(f)) return giveUp(describeStartFailure(f, config.server.host, config.server.port), f.code);
      if (failures >= MAX_START_FAILURES) {
        return giveUp(`workers cannot start: slot ${info.slot} failed ${failures} times in a row before listening; last: ${f ? f.message : why}`, f?.code);
      }
    }
    const lived = Date.now() - info.started;
    const n = lived > STABLE_MS ? 0 : (crashes.get(info.slot) ?? 0) + 1;
    crashes.set(info.slot, n);
    const delay = n === 0 ? 0 : Math.min(MAX_BACKOFF_MS, 100 * 2 ** (n - 1));
    log.error({ workerPid: w.process.pid, code, signal, livedMs: lived, restartInMs: delay }, `worker ${w.process.pid} ${why}; restarting`);
    // Not unref()'d: while every worker is down, this timer is what keeps the primary alive.
    setTimeout(() => !stopping && fork(info.slot), delay);
  });
  // The service's port (a worker may listen on METRICS_PORT too).
  const servicePort = (addr: { port: number }) => config.server.port === 0 || addr.port === config.server.port;
  cluster.on('listening', (w, addr) => {
    if (!servicePort(addr)) return;
    const info = slots.get(w);
    if (info) {
      info.listening = true;
      startFailures.set(info.slot, 0);
    }
    log.info({ workerPid: w.process.pid, port: addr.port }, 'worker listening');
  });

  // Workers get SHUTDOWN_TIMEOUT_SEC to finish what they are answering, then a little more.
  const graceMs = config.shutdownTimeoutMs + 5000;
  /** Stops every worker (SIGTERM, then SIGKILL past the grace) and exits with exitCode. */
  const stopAll = (exitCode: number) => {
    stopping = true;
    for (const w of slots.keys()) w.process.kill('SIGTERM');
    const force = setTimeout(() => {
      for (const w of slots.keys()) w.process.kill('SIGKILL');
      process.exit(1);
    }, graceMs);
    force.unref();
    const check = () => {
      if (slots.size === 0) process.exit(exitCode);
    };
    cluster.on('exit', check);
    check();
  };
  const giveUp = (message: string, cause?: string) => {
    log.fatal({ cause }, message);
    stopAll(1);
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    log.info({ signal }, 'stopping workers');
    stopAll(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  /**
   * SIGHUP: replaces the workers one at a time (each re-reads .env), starting the next only once the new
   * one listens and the old one has finished its requests, so the host always has WORKERS serving.
   */
  let rolling = false;
  const roll = async () => {
    if (rolling || stopping) return;
    rolling = true;
    log.info({ workers: slots.size }, 'rolling restart');
    for (const [old, info] of [...slots]) {
      if (stopping) break;
      if (!slots.has(old)) continue;
      const fresh = fork(info.slot);
      const up = await new Promise<boolean>((resolve) => {
        fresh.on('listening', (addr) => servicePort(addr) && resolve(true));
        fresh.once('exit', () => resolve(false));
      });
      if (!up) {
        log.error({ slot: info.slot }, 'rolling restart stopped: the new worker did not start; the old one keeps serving');
        break;
      }
      retiring.add(old);
      const gone = new Promise((r) => old.once('exit', r));
      old.process.kill('SIGTERM');
      await gone;
    }
    rolling = false;
    log.info({ workers: slots.size }, 'rolling restart done');
  };
  process.on('SIGHUP', () => void roll());

  log.info({ workers: config.server.workers, port: config.server.port, threadsPerWorker: config.pool.threads }, 'starting');
  for (let i = 0; i < config.server.workers; i++) fork(i);
}

import { Piscina } from 'piscina';
import { join } from 'node:path';
import { errors } from '../errors.js';
import { raceSignal } from '../deadline.js';
import { DEFAULT_LIMITS, type Config, type RendererName } from '../config.js';
import type { LottieInfo } from '../model/entry.js';
import type { CheckRendererResult, DecodeTgsResult, EncodeResult, GridTask, ImageInfoResult, ImageTask, PoolTask, RenderAnimTask, RenderPngTask } from './messages.js';


type MakeTask = () => { task: PoolTask; transferList: ArrayBuffer[] };

export interface PoolOptions {
  threads: number;
  queueMax: number;
  taskTimeoutMs: number;
  maxLottieBytes: number;
  /** Defaults: MAX_LOTTIE_DIMENSION's and MAX_FRAMES'. */
  maxLottieDimension?: number;
  maxFrames?: number;
  /** Default dotlottie. */
  renderer?: RendererName;
  /** A thread idle this long exits; default 30 s. */
  idleTimeoutMs?: number;
}

/** The pool the service's settings describe (the CLI changes threads and queue to suit a batch). */
export function poolOptions(config: Config): PoolOptions {
  return {
    threads: config.pool.threads,
    queueMax: config.pool.queueMax,
    taskTimeoutMs: config.limits.conversionTimeoutMs,
    maxLottieBytes: config.limits.maxLottieBytes,
    maxLottieDimension: config.limits.maxLottieDimension,
    maxFrames: config.limits.maxFrames,
    renderer: config.pool.renderer,
    idleTimeoutMs: config.pool.idleTimeoutMs,
  };
}

export interface Encoded {
  data: Buffer;
  width: number;
  height: number;
  frames: number;
  durationMs?: number;
  /** An image with one frame, written as a still. */
  still?: boolean;
  /** Time in the pool, queueing included. */
  ms: number;
}

export interface DecodedTgs {
  info: LottieInfo;
  gzip: Buffer;
  json?: Buffer;
  /** Unsafe things removed from the document; 0 when gzip is the input as it came. */
  removed: number;
}

/** Main-thread facade of the worker-thread pool: bounded queue, per-task deadline, typed results. */
export class ThreadPool {
  readonly #pool: Piscina<PoolTask, unknown>;
  readonly #opts: PoolOptions;
  /** Threads this pool has terminated because their renderer could not be trusted any more. */
  #recycled = 0;

  constructor(opts: PoolOptions) {
    this.#opts = opts;
    this.#pool = new Piscina({
      filename: join(__dirname, 'workers', 'index.js'),
      // No thread while idle: each costs about 15 MiB before it renders anything (more once the renderer and
      // libvips are in), and an idle service should not hold them. A task after an idle spell pays the
      // thread's start (BENCHMARKS.md).
      minThreads: 0,
      maxThreads: opts.threads,
      maxQueue: opts.queueMax,
      idleTimeout: opts.idleTimeoutMs ?? 30_000,
      workerData: { renderer: opts.renderer ?? 'dotlottie' },
      // One hostile file must not take the process's memory: its thread dies instead.
      resourceLimits: { maxOldGenerationSizeMb: Math.max(128, Math.ceil((opts.maxLottieBytes * 12) / 2 ** 20)), maxYoungGenerationSizeMb: 8 },
    });
  }

  /** Decompress and validate a TGS off the event loop. Throws AppError (422, 503 or 504). */
  async decodeTgs(data: Uint8Array, opts: { wantJson: boolean; plainJson?: boolean }, signal?: AbortSignal): Promise<DecodedTgs> {
    const result = (await this.#run(
      () => {
        // A copy is moved to the thread, so the caller's bytes stay usable (and the task can run again).
        const copy = new Uint8Array(data);
        const task: PoolTask = {
          kind: 'decode-tgs',
          data: copy,
          maxLottieBytes: this.#opts.maxLottieBytes,
          maxDimension: this.#opts.maxLottieDimension ?? DEFAULT_LIMITS.maxLottieDimension,
          maxFrames: this.#opts.maxFrames ?? DEFAULT_LIMITS.maxFrames,
          wantJson: opts.wantJson,
          plainJson: opts.plainJson,
        };
        return { task, transferList: [copy.buffer as ArrayBuffer] };
      },
      signal,
      // Never stop a thread inside native zlib: Node aborts the whole process when a worker is terminated
      // during a zlib call ("close before init"). Decoding is bounded by MAX_LOTTIE_BYTES anyway, so the
      // caller stops waiting at its deadline and the thread finishes on its own.
      false,
    )) as DecodeTgsResult;
    const gzip = Buffer.from(result.gzip.buffer, result.gzip.byteOffset, result.gzip.byteLength);
    if (!result.ok) throw result.reason === 'too-large' ? errors.lottieTooLarge(this.#opts.maxLottieBytes) : errors.corruptSticker(result.detail);
    const json = result.json && Buffer.from(result.json.buffer, result.json.byteOffset, result.json.byteLength);
    return { info: result.info, gzip, json, removed: result.removed };
  }

  /** One frame of a TGS as PNG. The gzip bytes are copied (the caller's stay cached). Throws AppError (422, 503, 504). */
  async renderPng(gzip: Uint8Array, opts: Omit<RenderPngTask, 'kind' | 'gzip' | 'maxLottieBytes'>, signal?: AbortSignal): Promise<Encoded> {
    return this.#encoded(() => {
      const copy = new Uint8Array(gzip);
      return { task: { kind: 'render-png', gzip: copy, maxLottieBytes: this.#opts.maxLottieBytes, ...opts }, transferList: [copy.buffer as ArrayBuffer] };
    }, signal);
  }

  /** A whole TGS as an animated WebP or GIF. Throws AppError (422, 503, 504). */
  async renderAnimated(gzip: Uint8Array, opts: Omit<RenderAnimTask, 'kind' | 'gzip' | 'maxLottieBytes'>, signal?: AbortSignal): Promise<Encoded> {
    return this.#encoded(() => {
      const copy = new Uint8Array(gzip);
      return { task: { kind: 'render-anim', gzip: copy, maxLottieBytes: this.#opts.maxLottieBytes, ...opts }, transferList: [copy.buffer as ArrayBuffer] };
    }, signal);
  }

  /** A still image as PNG, WebP or GIF within size x size. Throws AppError (422, 503, 504). */
  async convertImage(data: Uint8Array, opts: Omit<ImageTask, 'kind' | 'data' | 'maxFrames'>, signal?: AbortSignal): Promise<Encoded> {
    return this.#encoded(() => {
      const copy = new Uint8Array(data);
      return { task: { kind: 'convert-image', data: copy, maxFrames: this.#opts.maxFrames ?? DEFAULT_LIMITS.maxFrames, ...opts }, transferList: [copy.buffer as ArrayBuffer] };
    }, signal);
  }

  /** Tiles (PNG) laid out in a grid as one WebP or PNG. The tiles are copied. Throws AppError (422, 503, 504). */
  async composeGrid(tiles: Array<Uint8Array | undefined>, opts: Omit<GridTask, 'kind' | 'tiles'>, signal?: AbortSignal): Promise<Encoded> {
    return this.#encoded(() => {
      const copies = tiles.map((t) => (t ? new Uint8Array(t) : null));
      return { task: { kind: 'compose-grid', tiles: copies, ...opts }, transferList: copies.flatMap((c) => (c ? [c.buffer as ArrayBuffer] : [])) };
    }, signal);
  }

  /** Loads the renderer in a thread; throws, naming what to install, when it cannot run here. */
  async checkRenderer(): Promise<void> {
    const r = (await this.#run(() => ({ task: { kind: 'check-renderer' }, transferList: [] }))) as CheckRendererResult;
    if (!r.ok) throw Object.assign(new Error(r.detail), { code: 'RENDERER_UNAVAILABLE' });
  }

  /** Dimensions, frames and duration of an encoded image, read in a thread (libvips stays off the event loop). Throws AppError (422, 503, 504). */
  async imageInfo(data: Uint8Array, signal?: AbortSignal): Promise<{ width: number; height: number; frames: number; durationMs?: number }> {
    const r = (await this.#run(() => {
      const copy = new Uint8Array(data);
      return { task: { kind: 'image-info', data: copy }, transferList: [copy.buffer as ArrayBuffer] };
    }, signal)) as ImageInfoResult;
    if (!r.ok) throw errors.unrenderable(r.detail);
    return { width: r.width, height: r.height, frames: r.frames, durationMs: r.durationMs };
  }

  async #encoded(make: MakeTask, signal?: AbortSignal): Promise<Encoded> {
    const started = performance.now();
    const r = (await this.#run(make, signal)) as EncodeResult;
    if (!r.ok) {
      // After a trap the thread's wasm instance cannot be trusted: replace the thread.
      if (r.recycle) {
        // Tasks already given to that thread fail with it and run again (#run); later ones find it gone.
        this.#recycled++;
        await this.#pool.threads.find((w) => w.threadId === r.threadId)?.terminate();
      }
      if (r.badParameter) throw errors.badParameter(r.badParameter.name, r.badParameter.expected);
      throw r.tooLarge ? errors.animationTooLarge(r.detail) : errors.unrenderable(r.detail);
    }
    return { data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength), width: r.width, height: r.height, frames: r.frames, durationMs: r.durationMs, still: r.still, ms: performance.now() - started };
  }

  /** Ids of the live threads, for diagnostics and tests. */
  get threadIds(): number[] {
    return this.#pool.threads.map((t) => t.threadId);
  }

  get stats() {
    return { threads: this.#pool.threads.length, queued: this.#pool.queueSize, completed: this.#pool.completed };
  }

  async close(): Promise<void> {
    await this.#pool.close({ force: true });
  }

  /** make builds the task afresh (its buffers are moved), so it can run again if its thread is replaced. */
  async #run(make: MakeTask, signal?: AbortSignal, stopThreadOnAbort = true): Promise<unknown> {
    // Refuse at once when the queue is full rather than letting waiters pile up.
    if (this.#pool.queueSize >= this.#opts.queueMax) {
      this.onTask?.('refused', 'overloaded', 0);
      throw errors.overloaded('processing queue is full');
    }
    const deadline = AbortSignal.timeout(this.#opts.taskTimeoutMs);
    const abort = signal ? AbortSignal.any([signal, deadline]) : deadline;
    const recycledBefore = this.#recycled;
    const started = performance.now();
    let kind = 'unknown';
    let outcome = 'ok';
    const attempt = () => {
      const { task, transferList } = make();
      kind = task.kind;
      if (stopThreadOnAbort) return this.#pool.run(task, { transferList, signal: abort });
      return raceSignal(this.#pool.run(task, { transferList }), abort);
    };
    try {
      try {
        return await attempt();
      } catch (err) {
        // A thread replaced under this task (another task broke it) is not this task's fault: once more.
        if (abort.aborted || this.#recycled === recycledBefore) throw err;
        return await attempt();
      }
    } catch (err) {
      outcome = deadline.aborted ? 'timeout' : signal?.aborted ? 'cancelled' : 'error';
      if (deadline.aborted) throw errors.conversionTimeout(this.#opts.taskTimeoutMs);
      if (signal?.aborted) throw signal.reason;
      if ((err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY') throw errors.corruptSticker('too large to process');
      throw err;
    } finally {
      this.onTask?.(kind, outcome, (performance.now() - started) / 1000);
    }
  }

  /** Told of every task: its kind, how it ended (ok, error, timeout, cancelled) and its time in the pool, queue included. */
  onTask: ((kind: string, outcome: string, seconds: number) => void) | undefined;

  /** Time tasks waited for a thread and ran, as piscina measures them (ms). */
  get timings(): { waitP50: number; waitP99: number; runP50: number; runP99: number } {
    const h = this.#pool.histogram;
    return { waitP50: h.waitTime.p50, waitP99: h.waitTime.p99, runP50: h.runTime.p50, runP99: h.runTime.p99 };
  }
}

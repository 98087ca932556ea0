import { threadId } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { EncodeResult, GridTask, ImageTask, PoolTask, RenderAnimTask, RenderPngTask } from '../messages.js';
import { decodeTgs } from './tgs.js';

// The renderer (wasm) and sharp (libvips) cost ~40 MB per thread, so they load on the first task that needs
// them, not at thread start: a service that only serves Lottie never pays for them.
const animations = () => require('./animations.js') as typeof import('./animations.js');
const png = () => require('./png.js') as typeof import('./png.js');
const image = () => require('./image.js') as typeof import('./image.js');
const animated = () => require('./animated.js') as typeof import('./animated.js');
const grid = () => require('./grid.js') as typeof import('./grid.js');

// Libraries in this thread (the renderer) write diagnostics with console.*; in a service those would be
// multi-line text amid JSON logs. Keep one truncated JSON line each, on stderr.
for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  console[level] = (...args: unknown[]) => {
    const msg = args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ').replace(/\s+/g, ' ').slice(0, 300);
    process.stderr.write(`${JSON.stringify({ level: level === 'error' ? 50 : 40, time: Date.now(), pid: process.pid, name: 'pool-thread', msg })}\n`);
  };
}

/** Entry point of every pool thread: dispatch on the task kind; the result's buffers are moved back, not copied. */
export default async function run(task: PoolTask) {
  switch (task.kind) {
    case 'decode-tgs': {
      const result = decodeTgs(task);
      result.gzip = owned(result.gzip);
      if (result.ok && result.json) result.json = owned(result.json);
      const buffers = [result.gzip, result.ok ? result.json : undefined].flatMap((b) => (b ? [b.buffer as ArrayBuffer] : []));
      return movable(result, buffers);
    }
    case 'check-renderer':
      return animations().checkRenderer();
    case 'image-info':
      return image().imageInfo(task);
    case 'render-png':
    case 'render-anim':
    case 'convert-image':
    case 'compose-grid': {
      const result = await encode(task);
      if (!result.ok) return result.recycle ? { ...result, threadId } : result;
      result.data = owned(result.data);
      return movable(result, [result.data.buffer as ArrayBuffer]);
    }
  }
}

function encode(task: RenderPngTask | RenderAnimTask | ImageTask | GridTask): Promise<EncodeResult> {
  switch (task.kind) {
    case 'render-png':
      return png().renderPng(task);
    case 'render-anim':
      return animated().renderAnimated(task);
    case 'convert-image':
      return image().convertImage(task);
    case 'compose-grid':
      return grid().composeGrid(task);
  }
}

function movable<T>(value: T, buffers: ArrayBuffer[]) {
  return move({ [transferableSymbol]: buffers, [valueSymbol]: value } as never);
}

// zlib's and sharp's output may share an ArrayBuffer with other data; only a view that owns all of its memory can be moved.
function owned(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { PoolTask } from '../messages.js';
import { decodeTgs } from './tgs.js';

/** Entry point of every pool thread: dispatch on the task kind; the result's buffers are moved back, not copied. */
export default function run(task: PoolTask) {
  switch (task.kind) {
    case 'decode-tgs': {
      const result = decodeTgs(task);
      result.gzip = owned(result.gzip);
      if (result.ok && result.json) result.json = owned(result.json);
      const buffers = [result.gzip, result.ok ? result.json : undefined].flatMap((b) => (b ? [b.buffer as ArrayBuffer] : []));
      return move({ [transferableSymbol]: buffers, [valueSymbol]: result } as never);
    }
  }
}

// zlib's output may share an ArrayBuffer with other data; only a view that owns all of its memory can be moved.
function owned(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);
}

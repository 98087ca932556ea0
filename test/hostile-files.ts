import { gzipSync } from 'node:zlib';
import { fixture } from './helper.js';

export interface HostileFile {
  name: string;
  data: Buffer;
  status: number;
  /** What the answer (HTTP message or CLI line) must say. */
  says: RegExp;
}

const lottie = (extra: Record<string, unknown> = {}) => ({ v: '5.7.0', fr: 30, ip: 0, op: 10, w: 100, h: 100, layers: [], ...extra });
const ks = { o: { a: 0, k: 100 }, r: { a: 0, k: 0 }, p: { a: 0, k: [0, 0, 0] }, a: { a: 0, k: [0, 0, 0] }, s: { a: 0, k: [100, 100, 100] } };
const use = (refId: string) => ({ ddd: 0, ind: 1, ty: 0, refId, sr: 1, ip: 0, op: 10, st: 0, w: 100, h: 100, ks });
const shape = { ddd: 0, ind: 1, ty: 4, sr: 1, ip: 0, op: 10, st: 0, ks, shapes: [] };

/**
 * The broken and hostile files of the issue, each with the status and message it must get. The test suites
 * send every one through the HTTP route and the command line.
 */
export function hostileFiles(): HostileFile[] {
  const gz = (doc: unknown) => gzipSync(typeof doc === 'string' ? doc : JSON.stringify(doc));
  return [
    { name: 'no-known-format', data: Buffer.from('hello, this is not a sticker at all'), status: 422, says: /not a TGS, Lottie JSON, WebP, WebM, PNG, JPEG or GIF/ },
    { name: 'not-gzip', data: Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(64, 0xff)]) /* a gzip header, then a reserved deflate block type */, status: 422, says: /not valid gzip/ },
    { name: 'truncated', data: fixture('sticker_01.tgs').subarray(0, 5000), status: 422, says: /gzip stream is incomplete/ },
    { name: 'bomb', data: gzipSync(Buffer.alloc(80 * 1024 * 1024, 0x20)), status: 413, says: /exceeds \d+ bytes/ },
    { name: 'not-json', data: gz('{"v": "5", oops'), status: 422, says: /not JSON/ },
    { name: 'array-json', data: gz([1, 2, 3]), status: 422, says: /must be an object/ },
    { name: 'not-lottie', data: gz({ hello: 'world' }), status: 422, says: /Lottie field "w"/ },
    { name: 'huge-canvas', data: gz(lottie({ w: 100_000 })), status: 422, says: /size 100000x100 is outside/ },
    { name: 'endless', data: gz(lottie({ op: 10_000_000 })), status: 422, says: /frames; at most/ },
    { name: 'frame-rate', data: gz(lottie({ fr: 100_000 })), status: 422, says: /frame rate 100000/ },
    { name: 'cycle', data: gz(lottie({ assets: [{ id: 'c', layers: [use('c')] }], layers: [use('c')] })), status: 422, says: /precomposition "c" contains itself/ },
    { name: 'many-layers', data: gz(lottie({ layers: Array.from({ length: 20_000 }, (_, i) => ({ ...shape, ind: i + 1 })) })), status: 422, says: /20000 layers; at most 5000/ },
    {
      name: 'precomp-fan-out',
      data: gz(lottie({ assets: Array.from({ length: 20 }, (_, i) => ({ id: `c${i}`, layers: i === 19 ? [shape] : [use(`c${i + 1}`), use(`c${i + 1}`)] })), layers: [use('c0')] })),
      status: 422,
      says: /layers; at most 5000/,
    },
  ];
}

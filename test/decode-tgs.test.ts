import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ThreadPool } from '../src/convert/pool.js';
import { AppError } from '../src/errors.js';
import { eventually, fixture } from './helper.js';

let pool: ThreadPool;
before(() => {
  pool = new ThreadPool({ threads: 1, queueMax: 4, taskTimeoutMs: 10_000, maxLottieBytes: 2 * 1024 * 1024 });
});
after(() => pool.close());

const rejects = (p: Promise<unknown>, code: string, re: RegExp) =>
  assert.rejects(p, (e: unknown) => e instanceof AppError && e.code === code && re.test(e.message));

test('real stickers decode in a worker thread to their Lottie JSON and metadata', async () => {
  for (const name of ['sticker_01.tgs', 'sticker_04.tgs', 'sticker_05.tgs', 'tiny_512_1s.tgs']) {
    const tgs = fixture(name);
    const r = await pool.decodeTgs(new Uint8Array(tgs), { wantJson: true });
    assert.deepEqual(r.gzip, tgs, name);
    assert.deepEqual(r.json, gunzipSync(tgs));
    const doc = JSON.parse(r.json!.toString());
    assert.equal(r.info.frames, Math.ceil(doc.op - doc.ip));
    assert.equal(r.info.frameRate, doc.fr);
  }
});

test('without wantJson only the metadata and the gzip bytes come back', async () => {
  const r = await pool.decodeTgs(new Uint8Array(fixture('sticker_05.tgs')), { wantJson: false });
  assert.equal(r.json, undefined);
  assert.equal(r.info.width, 512);
});

test('a gzip bomb is stopped at MAX_LOTTIE_BYTES', async () => {
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)); // 64 MiB of spaces in ~64 KB
  assert.ok(bomb.length < 100 * 1024);
  await rejects(pool.decodeTgs(bomb, { wantJson: false }), 'LOTTIE_TOO_LARGE', /exceeds 2097152 bytes/);
});

test('absurd dimensions, frame rates and empty animations are refused', async () => {
  const base = { v: '5.5.2', w: 512, h: 512, fr: 60, ip: 0, op: 60, layers: [] };
  const bad: Array<[object, RegExp]> = [
    [{ ...base, w: 100_000 }, /size/],
    [{ ...base, w: 5000 }, /outside 1\.\.4096/],
    [{ ...base, op: 100_000 }, /100000 frames; at most 1800/],
    [{ ...base, fr: 0 }, /frame rate/],
    [{ ...base, fr: 100_000 }, /frame rate/],
    [{ ...base, op: 0 }, /out-point/],
    [{ ...base, layers: 'x' }, /layers/],
    [{ ...base, w: 'wide' }, /"w"/],
  ];
  for (const [doc, re] of bad) await rejects(pool.decodeTgs(gzipSync(JSON.stringify(doc)), { wantJson: false }), 'CORRUPT_STICKER', re);
});

test('deeply nested JSON neither crashes the thread nor the process', async () => {
  const deep = '['.repeat(200_000) + ']'.repeat(200_000);
  await rejects(pool.decodeTgs(gzipSync(deep), { wantJson: false }), 'CORRUPT_STICKER', /./);
  const ok = await pool.decodeTgs(new Uint8Array(fixture('tiny_512_1s.tgs')), { wantJson: false });
  assert.equal(ok.info.frames, 60);
});

test('a full queue is refused at once with 503', async () => {
  const small = new ThreadPool({ threads: 1, queueMax: 1, taskTimeoutMs: 10_000, maxLottieBytes: 1 << 20 });
  try {
    const tgs = fixture('sticker_04.tgs');
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => small.decodeTgs(new Uint8Array(tgs), { wantJson: true })));
    const refused = results.filter((r) => r.status === 'rejected');
    assert.ok(refused.length > 0, 'some tasks were refused');
    for (const r of refused) assert.equal(((r as PromiseRejectedResult).reason as AppError).statusCode, 503);
    assert.ok(results.some((r) => r.status === 'fulfilled'));
  } finally {
    await small.close();
  }
});

/**
 * Work no machine finishes in seconds: 1800 frames at 1024 px of a full-size square turning (every frame
 * differs), as a WebP at quality 100.
 */
function endlessAnimation(): Buffer {
  const spin = { a: 1, k: [{ t: 0, s: [0], o: { x: [0], y: [0] }, i: { x: [1], y: [1] } }, { t: 1800, s: [3600] }] };
  const ks = { o: { a: 0, k: 100 }, r: spin, p: { a: 0, k: [512, 512, 0] }, a: { a: 0, k: [0, 0, 0] }, s: { a: 0, k: [100, 100, 100] } };
  const square = { ty: 'rc', d: 1, s: { a: 0, k: [900, 900] }, p: { a: 0, k: [0, 0] }, r: { a: 0, k: 0 } };
  const fill = { ty: 'fl', c: { a: 0, k: [0.9, 0.2, 0.1, 1] }, o: { a: 0, k: 100 }, r: 1 };
  const layer = { ddd: 0, ind: 1, ty: 4, sr: 1, ip: 0, op: 1800, st: 0, ks, shapes: [{ ty: 'gr', it: [square, fill, { ty: 'tr', p: { a: 0, k: [0, 0] }, a: { a: 0, k: [0, 0] }, s: { a: 0, k: [100, 100] }, r: { a: 0, k: 0 }, o: { a: 0, k: 100 } }] }] };
  return gzipSync(JSON.stringify({ v: '5.7.0', fr: 60, ip: 0, op: 1800, w: 1024, h: 1024, layers: [layer] }));
}

test('a conversion past CONVERSION_TIMEOUT_SEC is stopped with 504 and its thread replaced; the pool goes on', async () => {
  // The limit is far beyond what a small render needs even on a loaded machine, and far below the endless task.
  const quick = new ThreadPool({ threads: 1, queueMax: 4, taskTimeoutMs: 3000, maxLottieBytes: 64 * 1024 * 1024 });
  try {
    const tgs = fixture('sticker_04.tgs');
    await quick.renderPng(tgs, { width: 16, height: 16, frame: 0 });
    const before = quick.threadIds;
    await assert.rejects(
      quick.renderAnimated(endlessAnimation(), { format: 'webp', width: 1024, height: 1024, fps: 60, sourceFps: 60, quality: 100 }),
      (e: unknown) => e instanceof AppError && e.statusCode === 504 && e.code === 'CONVERSION_TIMEOUT',
    );
    const after = await quick.renderPng(tgs, { width: 64, height: 64, frame: 0 });
    assert.equal(after.width, 64);
    assert.notDeepEqual(quick.threadIds, before, 'the thread that ran past its limit was replaced');
  } finally {
    await quick.close();
  }
});

test('an idle pool holds no thread: threads start with work and exit after POOL_IDLE_TIMEOUT_SEC', async () => {
  const idle = new ThreadPool({ threads: 1, queueMax: 4, taskTimeoutMs: 30_000, maxLottieBytes: 1 << 20, idleTimeoutMs: 200 });
  try {
    assert.deepEqual(idle.threadIds, [], 'none before any task');
    await idle.decodeTgs(new Uint8Array(fixture('tiny_512_1s.tgs')), { wantJson: false });
    assert.equal(idle.threadIds.length, 1);
    await eventually(() => idle.threadIds.length === 0);
    const again = await idle.decodeTgs(new Uint8Array(fixture('tiny_512_1s.tgs')), { wantJson: false });
    assert.equal(again.info.frames, 60, 'the next task starts a thread again');
  } finally {
    await idle.close();
  }
});

test('decoding is never stopped by terminating its thread (Node aborts inside zlib), only abandoned', async () => {
  const quick = new ThreadPool({ threads: 1, queueMax: 16, taskTimeoutMs: 1, maxLottieBytes: 64 * 1024 * 1024 });
  try {
    const heavy = gzipSync(JSON.stringify({ w: 512, h: 512, fr: 60, ip: 0, op: 60, layers: Array.from({ length: 300_000 }, (_, i) => ({ ind: i })) }));
    await quick.decodeTgs(new Uint8Array(fixture('tiny_512_1s.tgs')), { wantJson: false }).catch(() => undefined); // thread up
    const before = quick.threadIds;
    for (let i = 0; i < 5; i++) await assert.rejects(quick.decodeTgs(heavy, { wantJson: true }), (e: unknown) => e instanceof AppError && e.statusCode === 504);
    assert.deepEqual(quick.threadIds, before, 'the same thread, never terminated');
  } finally {
    await quick.close();
  }
});

test('a renderer trap (a precomposition that contains itself, past the decode check) is 422 and replaces the thread', async () => {
  // Decoding refuses such files first; the pool is given one directly to exercise what a trap does.
  const trapPool = new ThreadPool({ threads: 1, queueMax: 4, taskTimeoutMs: 30_000, maxLottieBytes: 16 << 20 });
  try {
    const ks = { o: { a: 0, k: 100 }, r: { a: 0, k: 0 }, p: { a: 0, k: [0, 0, 0] }, a: { a: 0, k: [0, 0, 0] }, s: { a: 0, k: [100, 100, 100] } };
    const self = { ddd: 0, ind: 1, ty: 0, refId: 'c', sr: 1, ip: 0, op: 10, st: 0, w: 100, h: 100, ks };
    const cyclic = gzipSync(JSON.stringify({ v: '5.7.0', fr: 30, ip: 0, op: 10, w: 100, h: 100, assets: [{ id: 'c', layers: [self] }], layers: [self] }));
    await trapPool.renderPng(fixture('tiny_512_1s.tgs'), { width: 16, height: 16, frame: 0 });
    const before = trapPool.threadIds;
    await rejects(trapPool.renderPng(cyclic, { width: 64, height: 64, frame: 0 }), 'UNRENDERABLE', /could not load the animation/);
    const after = await trapPool.renderPng(fixture('tiny_512_1s.tgs'), { width: 16, height: 16, frame: 0 });
    assert.equal(after.width, 16, 'the next conversion works');
    assert.notDeepEqual(trapPool.threadIds, before, 'the trapped thread was replaced');
  } finally {
    await trapPool.close();
  }
});

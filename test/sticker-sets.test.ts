import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { request } from 'undici';
import { buildTestApp, fixture, fid, type TestApp } from './helper.js';
import { setName } from '../src/sticker/sets.js';
import { streamArchive } from '../src/sticker/archive.js';

/** A set in getStickerSet's shape (Bot API): an animated, a video and a static sticker, thumbnails for two. */
function botApiSet(name: string) {
  return {
    name,
    title: 'Test set',
    sticker_type: 'regular',
    stickers: [
      { file_id: fid('s_tgs'), file_unique_id: 'u1', type: 'regular', width: 512, height: 512, is_animated: true, is_video: false, emoji: '😀', thumbnail: { file_id: fid('t_tgs'), file_unique_id: 't1', width: 128, height: 128 } },
      { file_id: fid('s_webm'), file_unique_id: 'u2', type: 'regular', width: 161, height: 121, is_animated: false, is_video: true, emoji: '🎬', thumbnail: { file_id: fid('t_webm'), file_unique_id: 't2', width: 128, height: 96 } },
      { file_id: fid('s_webp'), file_unique_id: 'u3', type: 'regular', width: 800, height: 600, is_animated: false, is_video: false },
    ],
  };
}

describe('GET /sticker-sets/:name', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
    t.fake.sets.set('TestSet_by_fakebot', botApiSet('TestSet_by_fakebot'));
    t.fake.add(fid('s_tgs'), { data: fixture('sticker_05.tgs') }).add(fid('t_tgs'), { data: fixture('static_png_RGBA_80x60.png') });
  });
  after(() => t.close());

  test('the set with each sticker, its kind and ready-made URLs that this service serves', async () => {
    const res = await t.app.inject({ url: '/sticker-sets/TestSet_by_fakebot' });
    assert.equal(res.statusCode, 200, res.payload);
    assert.match(String(res.headers['cache-control']), /max-age=300/);
    const body = res.json();
    assert.deepEqual([body.name, body.title, body.sticker_type, body.stickers.length], ['TestSet_by_fakebot', 'Test set', 'regular', 3]);
    assert.deepEqual(
      body.stickers.map((s: Record<string, unknown>) => [s.index, s.kind, s.emoji, s.needs_repainting, s.url, s.thumbnail_url]),
      [
        [0, 'animated', '😀', false, `/stickers/${fid('s_tgs')}`, `/stickers/${fid('t_tgs')}`],
        [1, 'video', '🎬', false, `/stickers/${fid('s_webm')}`, `/stickers/${fid('t_webm')}`],
        [2, 'static', null, false, `/stickers/${fid('s_webp')}`, null],
      ],
    );
    const sticker = await t.app.inject({ url: `${body.stickers[0].url}?format=png&size=64` });
    assert.deepEqual([sticker.statusCode, sticker.headers['content-type']], [200, 'image/png']);
    assert.equal((await t.app.inject({ url: body.stickers[0].thumbnail_url })).headers['content-type'], 'image/png');
  });

  test('a t.me link (URL-encoded in the path) is the same set; asked again within the TTL, Telegram is not asked again', async () => {
    t.fake.resetCounts();
    const link = encodeURIComponent('https://t.me/addstickers/TestSet_by_fakebot');
    const [a, b] = await Promise.all([t.app.inject({ url: `/sticker-sets/${link}` }), t.app.inject({ url: '/sticker-sets/TestSet_by_fakebot' })]);
    assert.deepEqual([a.statusCode, b.statusCode], [200, 200]);
    assert.equal(a.json().name, 'TestSet_by_fakebot');
    assert.equal(t.fake.getStickerSetCalls, 0, 'kept from the first test');
  });

  test('an unknown set is a 404 STICKER_SET_NOT_FOUND; a malformed name or link a 400 INVALID_SET_NAME, before Telegram', async () => {
    const unknown = await t.app.inject({ url: '/sticker-sets/NoSuchSet' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'STICKER_SET_NOT_FOUND');
    t.fake.resetCounts();
    for (const bad of ['bad-name', 'a'.repeat(65), encodeURIComponent('https://example.com/addstickers/x'), encodeURIComponent('https://t.me/addstickers/'), '%00']) {
      const res = await t.app.inject({ url: `/sticker-sets/${bad}` });
      assert.equal(res.statusCode, 400, bad);
      assert.equal(res.json().code, 'INVALID_SET_NAME', bad);
    }
    assert.equal(t.fake.getStickerSetCalls, 0);
  });
});

test('setName: names and the share links people paste', () => {
  for (const given of ['Animals', 'https://t.me/addstickers/Animals', 't.me/addstickers/Animals/', 'http://telegram.me/addstickers/Animals?x=1', 'tg://addstickers?set=Animals', 'https://t.me/addemoji/Animals']) {
    assert.equal(setName(given), 'Animals', given);
  }
});

test('with URL signing on, the listing needs a signature and its URLs come signed', async () => {
  const key = 'set-signing-key-0123456789abcdefgh';
  const t = await buildTestApp({ URL_SIGNING_KEY: key });
  try {
    t.fake.sets.set('Signed', botApiSet('Signed'));
    t.fake.add(fid('s_tgs'), { data: fixture('sticker_05.tgs') });
    assert.equal((await t.app.inject({ url: '/sticker-sets/Signed' })).statusCode, 403);
    const sig = createHmac('sha256', key).update('/sticker-sets/Signed').digest('base64url');
    const res = await t.app.inject({ url: `/sticker-sets/Signed?sig=${sig}` });
    assert.equal(res.statusCode, 200, res.payload);
    const first = res.json().stickers[0].url as string;
    assert.match(first, /\?sig=[A-Za-z0-9_-]{43}$/);
    assert.equal((await t.app.inject({ url: first })).statusCode, 200, 'the listed URL is served as it is');
    const grid = await t.app.inject({ url: res.json().grid_url });
    assert.deepEqual([grid.statusCode, grid.headers['content-type']], [200, 'image/webp'], 'the set\'s grid URL too');
  } finally {
    await t.close();
  }
});

/** The entries of a ZIP as Info-ZIP's unzip lists them, and one entry's bytes. */
function unzip(zip: Buffer): { names: string[]; read: (name: string) => Buffer } {
  const file = join(mkdtempSync(join(tmpdir(), 'sp-zip-')), 'a.zip');
  writeFileSync(file, zip);
  const list = spawnSync('unzip', ['-Z1', file], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  const test = spawnSync('unzip', ['-tq', file], { encoding: 'utf8' });
  assert.equal(test.status, 0, `unzip -t: ${test.stdout}${test.stderr}`);
  return { names: list.stdout.trim().split('\n'), read: (name) => spawnSync('unzip', ['-p', file, name], { maxBuffer: 1 << 28 }).stdout };
}

describe('GET /sticker-sets/:name/archive', { skip: spawnSync('unzip', ['-v']).status === 0 ? undefined : 'unzip is not installed (apt-get install unzip)' }, () => {
  let t: TestApp;
  // Five members: a TGS, a static WebP, a corrupt "TGS" (gzip of garbage), one Telegram does not know, a TGS.
  const members = [
    { id: fid('a_tgs'), data: fixture('sticker_05.tgs'), emoji: '😀' },
    { id: fid('a_webp'), data: fixture('static_webp_800x600.webp'), emoji: 'a/b' },
    { id: fid('a_bad'), data: gzipSync(Buffer.from('{"not": "lottie"')), emoji: '💥' },
    { id: fid('a_gone'), data: undefined, emoji: '👻' },
    { id: fid('a_tiny'), data: fixture('tiny_512_1s.tgs'), emoji: undefined },
  ];
  const setOf = (name: string) => ({
    name,
    title: 'Archive',
    sticker_type: 'regular',
    stickers: members.map((m, i) => ({ file_id: m.id, file_unique_id: `uniq${i}`, width: 512, height: 512, is_animated: true, is_video: false, ...(m.emoji && { emoji: m.emoji }) })),
  });
  before(async () => {
    t = await buildTestApp({ MAX_SET_STICKERS: '5' });
    t.fake.sets.set('Archive', setOf('Archive'));
    t.fake.sets.set('TooBig', { ...setOf('TooBig'), stickers: [...setOf('TooBig').stickers, setOf('TooBig').stickers[0]] });
    for (const m of members) if (m.data) t.fake.add(m.id, { data: m.data });
  });
  after(() => t.close());

  test('a ZIP of every sticker converted, named <index>_<emoji or id>.<ext>; the hostile and the missing ones listed in manifest.json, the rest delivered', async () => {
    const res = await t.app.inject({ url: '/sticker-sets/Archive/archive?format=webp&size=64' });
    assert.equal(res.statusCode, 200, res.payload);
    assert.equal(res.headers['content-type'], 'application/zip');
    assert.match(String(res.headers['content-disposition']), /attachment; filename="Archive.zip"/);
    const zip = unzip(res.rawPayload);
    assert.deepEqual(zip.names.sort(), ['0_😀.webp', '1_ab.webp', '4_uniq4.webp', 'manifest.json']);
    for (const name of ['0_😀.webp', '1_ab.webp', '4_uniq4.webp']) {
      const m = await sharp(zip.read(name)).metadata();
      assert.equal(m.format, 'webp', name);
      assert.ok(Math.max(m.width ?? 0, m.pageHeight ?? m.height ?? 0) === 64, `${name}: ${m.width}x${m.height}`);
    }
    const manifest = JSON.parse(zip.read('manifest.json').toString());
    assert.deepEqual(manifest.delivered.map((d: { index: number }) => d.index), [0, 1, 4]);
    assert.deepEqual(manifest.failed.map((f: { index: number; code: string }) => [f.index, f.code]), [[2, 'CORRUPT_STICKER'], [3, 'TELEGRAM_BAD_REQUEST']]);
    assert.deepEqual(manifest.query, { format: 'webp', size: '64' });
  });

  test('without options each sticker as stored (TGS as Lottie JSON); a set over MAX_SET_STICKERS is a 422', async () => {
    const res = await t.app.inject({ url: '/sticker-sets/Archive/archive' });
    const zip = unzip(res.rawPayload);
    assert.ok(zip.names.includes('0_😀.json') && zip.names.includes('1_ab.webp'), zip.names.join(', '));
    assert.equal(JSON.parse(zip.read('0_😀.json').toString()).fr, 60);
    const big = await t.app.inject({ url: '/sticker-sets/TooBig/archive?format=webp' });
    assert.equal(big.statusCode, 422);
    assert.equal(big.json().code, 'SET_TOO_LARGE');
    assert.equal((await t.app.inject({ url: '/sticker-sets/Archive/archive?format=jpeg' })).statusCode, 400);
  });

  test('a reader that falls behind holds back the next stickers (every lane of ARCHIVE_CONCURRENCY), and reading on finishes the archive', { timeout: 60_000 }, async () => {
    // Ten stickers of 100 kB each against a 150 kB hold-back, two lanes; nobody reads until the archive holds.
    const bodies = Array.from({ length: 10 }, (_, i) => Buffer.alloc(100_000, i));
    const set = { name: 'Slow', title: 'Slow', stickerType: 'regular', stickers: bodies.map((_, i) => ({ fileId: fid(`slow${i}`), fileUniqueId: `s${i}`, emoji: undefined, kind: 'static' as const, width: 512, height: 512, needsRepainting: false, thumbnailFileId: undefined, customEmojiId: undefined })) };
    let asked = 0;
    const member = async (fileId: string) => {
      asked++;
      return { body: bodies[Number(fileId.slice(fid('slow').length))], output: 'webp' };
    };
    let holds = 0;
    let held!: () => void;
    const holding = new Promise<void>((resolve) => (held = resolve));
    const stream = streamArchive(set, member, { concurrency: 2, stop: new AbortController().signal, query: {}, aheadBytes: 150_000, onHold: () => (holds++, held()) });
    await holding;
    // Let everything pending run (I/O and timers included): a held archive asks for nothing more.
    const atHold = asked;
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(asked, atHold);
    assert.ok(asked < bodies.length, `${asked} stickers asked for while nothing was read`);
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    assert.equal(asked, bodies.length);
    assert.ok(holds >= 1);
    const zip = unzip(Buffer.concat(chunks));
    assert.equal(zip.names.length, 11);
    assert.deepEqual(zip.read('9_s9.webp'), bodies[9]);
  });

  test('a client that hangs up mid-archive stops the work: the stickers after it are never fetched', { timeout: 60_000 }, async () => {
    // Stickers no earlier test has fetched: each needs its getFile.
    const ids = [0, 1, 2, 3].map((i) => fid(`hangup${i}`));
    ids.forEach((id) => t.fake.add(id, { data: fixture('tiny_512_1s.tgs') }));
    t.fake.sets.set('Hangup', { name: 'Hangup', title: 'Hangup', sticker_type: 'regular', stickers: ids.map((id, i) => ({ file_id: id, file_unique_id: `h${i}`, width: 512, height: 512, is_animated: true, is_video: false })) });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as AddressInfo).port;
    t.fake.resetCounts();
    // The second sticker's getFile waits for the test: the client leaves while it is held.
    let release!: () => void;
    t.fake.faults.getFile.push({ kind: 'delay', ms: 0 }, { kind: 'hold', until: new Promise<void>((r) => (release = r)) });
    const done = new Promise<string>((resolve) => {
      const push = t.logs.push.bind(t.logs);
      t.logs.push = (...lines: string[]) => {
        for (const l of lines) if (l.includes('archive done')) resolve(l);
        return push(...lines);
      };
    });
    // The second getFile (its fault holds it) has arrived.
    let getFiles = 0;
    const held = new Promise<void>((resolve) => (t.fake.onCall = (path) => /\/getFile\?/.test(path) && ++getFiles === 2 && resolve()));
    const res = await request(`http://127.0.0.1:${port}/sticker-sets/Hangup/archive?format=png&size=32`);
    await held;
    res.body.destroy();
    await new Promise<void>((resolve) => res.body.once('close', resolve));
    release();
    const summary = JSON.parse(await done);
    t.fake.onCall = undefined;
    assert.equal(summary.stopped, true);
    assert.equal(t.fake.calls.getFile, 2, 'no sticker after the one under way when the client left');
  });
});

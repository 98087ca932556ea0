import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { buildTestApp, fixture, fid, type TestApp } from './helper.js';
import { setName } from '../src/sticker/sets.js';

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
    assert.equal(t.fake.calls.getStickerSet, 0, 'kept from the first test');
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
    assert.equal(t.fake.calls.getStickerSet, 0);
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
  } finally {
    await t.close();
  }
});

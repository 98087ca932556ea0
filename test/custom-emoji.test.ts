import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import sharp from 'sharp';
import { buildTestApp, fixture, fid, type TestApp } from './helper.js';

/** A custom emoji as getCustomEmojiStickers returns it (Bot API Sticker of type custom_emoji). */
const emoji = (id: string, fileId: string, o: { repaint?: boolean; kind?: 'animated' | 'video' | 'static' } = {}) => ({
  file_id: fileId,
  file_unique_id: `ce${id}`,
  type: 'custom_emoji',
  width: 100,
  height: 100,
  is_animated: (o.kind ?? 'animated') === 'animated',
  is_video: o.kind === 'video',
  emoji: '⭐',
  custom_emoji_id: id,
  ...(o.repaint && { needs_repainting: true }),
});

/** The colours of an image's visible pixels (every frame), most common first. */
async function visibleColours(image: Buffer): Promise<string[]> {
  const { data } = await sharp(image, { animated: true }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const counts = new Map<string, number>();
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] === 0) continue;
    const k = `${data[i]},${data[i + 1]},${data[i + 2]}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
}

describe('GET /custom-emoji/:id', () => {
  let t: TestApp;
  before(async () => {
    // A long batching window: which requests share a call does not depend on how fast this machine is.
    t = await buildTestApp({ CUSTOM_EMOJI_BATCH_MS: '1000' });
    t.fake.add(fid('ce_tgs'), { data: fixture('sticker_05.tgs') }).add(fid('ce_webm'), { data: fixture('translucent_96x64_1s_vp9a.webm') }).add(fid('ce_webp'), { data: fixture('translucent_96x64_1s.webp') });
    t.fake.customEmoji.set('5368324170671202286', emoji('5368324170671202286', fid('ce_tgs'), { repaint: true }));
    t.fake.customEmoji.set('5368324170671202287', emoji('5368324170671202287', fid('ce_tgs')));
    t.fake.customEmoji.set('5368324170671202288', emoji('5368324170671202288', fid('ce_webm'), { repaint: true, kind: 'video' }));
    for (let i = 0; i < 250; i++) t.fake.customEmoji.set(`7000${i}`, emoji(`7000${i}`, fid('ce_webp'), { kind: 'static' }));
  });
  after(() => t.close());

  test('concurrent requests for 250 different ids: two getCustomEmojiStickers calls (200, then 50), each request its own emoji', async () => {
    t.fake.resetCounts();
    const ids = Array.from({ length: 250 }, (_, i) => `7000${i}`);
    const res = await Promise.all(ids.map((id) => t.app.inject({ url: `/custom-emoji/${id}` })));
    for (const [i, r] of res.entries()) {
      assert.equal(r.statusCode, 200, r.payload);
      assert.equal(r.headers['x-custom-emoji-id'], ids[i]);
      assert.equal(r.headers['content-type'], 'image/webp');
    }
    assert.deepEqual(t.fake.customEmojiCalls.map((c) => c.length), [200, 50]);
    const stats = (await t.app.inject({ url: '/cache/stats' })).json();
    assert.equal(stats.telegram.getCustomEmojiStickersCalls, 2, 'counted in /cache/stats');
    assert.match((await t.app.inject({ url: '/metrics' })).payload, /telegram_requests_total\{method="getCustomEmojiStickers"\} 2/);
    assert.deepEqual(t.fake.customEmojiCalls.flat().sort(), [...ids].sort());
    // Resolved ids are kept: asked again, Telegram is not.
    assert.equal((await t.app.inject({ url: `/custom-emoji/${ids[7]}?format=png` })).statusCode, 200);
    assert.equal(t.fake.customEmojiCalls.length, 2);
  });

  test('the same id asked for at once is asked of Telegram once; an unknown id among known ones is a 404 for it alone', async () => {
    t.fake.resetCounts();
    const [a, b, unknown] = await Promise.all([
      t.app.inject({ url: '/custom-emoji/5368324170671202287?format=webp&size=64' }),
      t.app.inject({ url: '/custom-emoji/5368324170671202287' }),
      t.app.inject({ url: '/custom-emoji/1234567890' }),
    ]);
    assert.deepEqual(t.fake.customEmojiCalls, [['5368324170671202287', '1234567890']]);
    assert.deepEqual([a.statusCode, a.headers['content-type'], b.statusCode, b.headers['content-type']], [200, 'image/webp', 200, 'application/json']);
    assert.equal(b.headers['x-needs-repainting'], 'false');
    assert.deepEqual([unknown.statusCode, unknown.json().code], [404, 'CUSTOM_EMOJI_NOT_FOUND']);
  });

  test('Telegram refusing a whole batch for one id: the other ids are asked alone and served', async () => {
    t.fake.resetCounts();
    t.fake.customEmoji.set('900', emoji('900', fid('ce_webp'), { kind: 'static' }));
    t.fake.customEmojiRefused.add('901');
    const [good, bad] = await Promise.all([t.app.inject({ url: '/custom-emoji/900' }), t.app.inject({ url: '/custom-emoji/901' })]);
    assert.equal(good.statusCode, 200, good.payload);
    assert.deepEqual([bad.statusCode, bad.json().code], [400, 'TELEGRAM_BAD_REQUEST']);
    assert.deepEqual(t.fake.customEmojiCalls, [['900', '901'], ['900'], ['901']]);
  });

  test('tint paints every visible pixel of a needs_repainting emoji (TGS and video), and is left out for the others', async () => {
    for (const [id, q] of [['5368324170671202286', 'format=png&tint=ff0000'], ['5368324170671202286', 'format=webp&size=64&tint=%23f00'], ['5368324170671202288', 'format=gif&tint=00ff00'], ['5368324170671202288', 'format=png&tint=00ff00']]) {
      const res = await t.app.inject({ url: `/custom-emoji/${id}?${q}` });
      assert.equal(res.statusCode, 200, res.payload);
      assert.equal(res.headers['x-needs-repainting'], 'true');
      const colours = await visibleColours(res.rawPayload);
      const [r, g, b] = colours[0].split(',').map(Number);
      // Lossy WebP moves a channel by a step or two; every pixel of the lossless ones is exactly the tint.
      if (q.includes('webp')) assert.ok(Math.abs(r - 255) + g + b <= 4, colours[0]);
      else assert.deepEqual(colours, [q.includes('ff0000') ? '255,0,0' : '0,255,0'], `${id} ${q}`);
    }
    const plain = await t.app.inject({ url: '/custom-emoji/5368324170671202287?format=png&size=64' });
    const tinted = await t.app.inject({ url: '/custom-emoji/5368324170671202287?format=png&size=64&tint=ff0000' });
    assert.deepEqual(tinted.rawPayload, plain.rawPayload, 'not repainted: the same image');
    assert.ok((await visibleColours(plain.rawPayload)).length > 10);
  });

  test('bad input: a malformed id or tint is a 400 before Telegram; tint of the stored Lottie is a 400', async () => {
    t.fake.resetCounts();
    for (const [url, code] of [['/custom-emoji/abc', 'INVALID_CUSTOM_EMOJI_ID'], [`/custom-emoji/${'1'.repeat(25)}`, 'INVALID_CUSTOM_EMOJI_ID'], ['/custom-emoji/5368324170671202286?format=png&tint=red', 'INVALID_PARAMETER']]) {
      const res = await t.app.inject({ url });
      assert.deepEqual([res.statusCode, res.json().code], [400, code], url);
    }
    assert.equal(t.fake.customEmojiCalls.length, 0);
    const lottie = await t.app.inject({ url: '/custom-emoji/5368324170671202286?tint=ff0000' });
    assert.deepEqual([lottie.statusCode, lottie.json().code], [400, 'IMPOSSIBLE_FORMAT']);
  });
});

test('with URL signing on, a custom emoji URL needs its signature', async () => {
  const key = 'emoji-signing-key-0123456789abcdefgh';
  const t = await buildTestApp({ URL_SIGNING_KEY: key });
  try {
    t.fake.add(fid('ce_signed'), { data: fixture('translucent_96x64_1s.webp') });
    t.fake.customEmoji.set('42', emoji('42', fid('ce_signed'), { kind: 'static' }));
    const unsigned = await t.app.inject({ url: '/custom-emoji/42?format=png' });
    assert.deepEqual([unsigned.statusCode, unsigned.json().code], [403, 'INVALID_SIGNATURE']);
    assert.equal(t.fake.customEmojiCalls.length, 0);
    const sig = createHmac('sha256', key).update('/custom-emoji/42?format=png').digest('base64url');
    assert.equal((await t.app.inject({ url: `/custom-emoji/42?format=png&sig=${sig}` })).statusCode, 200);
  } finally {
    await t.close();
  }
});

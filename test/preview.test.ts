import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildTestApp, fixture, fixturesDir, fid, type TestApp } from './helper.js';

// Debian's chromium (apt-get install chromium), driven by playwright-core: no browser download.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM) ? undefined : `no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
// Screenshots land here (ignored by git), for a person to look at.
const SHOTS = join(__dirname, '..', '..', 'test-output');

describe('the preview page in Chromium', { skip: noBrowser }, () => {
  let t: TestApp;
  let base: string;
  let browser: import('playwright-core').Browser;
  const outside: string[] = [];
  before(async () => {
    t = await buildTestApp({ MAX_PROCESS_WORKERS: '2' });
    t.fake.add(fid('preview_tgs'), { data: fixture('sticker_05.tgs') });
    t.fake.sets.set('PreviewSet', {
      name: 'PreviewSet',
      title: 'Preview set',
      sticker_type: 'regular',
      stickers: [{ file_id: fid('preview_tgs'), file_unique_id: 'p0', type: 'regular', width: 512, height: 512, is_animated: true, is_video: false, emoji: '😀' }],
    });
    t.fake.customEmoji.set('5368324170671202286', { file_id: fid('preview_tgs'), file_unique_id: 'p0', type: 'custom_emoji', width: 100, height: 100, is_animated: true, is_video: false, custom_emoji_id: '5368324170671202286', needs_repainting: true });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  /** A page that refuses (and records) any request that leaves this service: the page must work offline. */
  async function open() {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(base) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${base}/`);
    return { page, errors };
  }

  /** In the page: each named card's output decoded by Chromium's ImageDecoder: its type, frame count, and whether two frames differ. */
  const decodeCards = (formats: string[]) => async (names: string[]) => {
    const out: Record<string, { type: string; frames: number; differ: boolean; shown: boolean }> = {};
    for (const name of names) {
      const img = document.querySelector<HTMLImageElement>(`.card[data-format="${name}"] img`)!;
      const blob = await (await fetch(img.src)).blob();
      const decoder = new ImageDecoder({ data: await blob.arrayBuffer(), type: blob.type });
      await decoder.tracks.ready;
      const frames = decoder.tracks.selectedTrack!.frameCount;
      const pixels = async (frameIndex: number) => {
        const { image } = await decoder.decode({ frameIndex });
        const canvas = new OffscreenCanvas(image.displayWidth, image.displayHeight);
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(image, 0, 0);
        image.close();
        return ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      };
      const a = await pixels(0);
      const b = await pixels(Math.floor(frames / 2));
      out[name] = { type: blob.type, frames, differ: a.some((v, i) => v !== b[i]), shown: img.complete && img.naturalWidth > 0 };
    }
    return out;
  };

  test('a sticker by file id: every output side by side; WebP, GIF and APNG decode in Chromium and animate; the presets listed', { timeout: 180_000 }, async () => {
    const { page, errors } = await open();
    await page.fill('#what', fid('preview_tgs'));
    await page.fill('#size', '128');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Done.', undefined, { timeout: 170_000 });
    const states = await page.$$eval('.card', (cards) => Object.fromEntries(cards.map((c) => [(c as HTMLElement).dataset.format, (c as HTMLElement).dataset.state])));
    assert.deepEqual(states, { default: 'ok', webp: 'ok', gif: 'ok', apng: 'ok', png: 'ok', webm: 'ok', mp4: 'ok', telegram: 'ok', telegram_emoji: 'ok', whatsapp: 'ok', signal: 'ok' });
    const decoded = await page.evaluate(decodeCards([]), ['webp', 'gif', 'apng']);
    for (const [name, d] of Object.entries(decoded)) {
      assert.equal(d.type, `image/${name}`);
      assert.ok(d.frames > 1, `${name}: ${d.frames} frames`);
      assert.ok(d.differ, `${name}: its frames differ`);
      assert.ok(d.shown, `${name}: shown in its <img>`);
    }
    const meta = await page.textContent('.card[data-format="webp"] .meta');
    assert.match(meta ?? '', /image\/webp · [\d.]+ (B|KiB) · 128×128 · \d+ frames · [\d.]+ ms/);
    await page.screenshot({ path: join(SHOTS, 'preview-sticker.png'), fullPage: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(outside, [], 'nothing loaded from outside the service');
    await page.close();
  });

  test('a set by its t.me link lists its stickers; one picked shows its outputs; a dropped file is converted by POST /convert', { timeout: 180_000 }, async () => {
    const { page, errors } = await open();
    await page.fill('#what', 'https://t.me/addstickers/PreviewSet');
    await page.click('button[type=submit]');
    await page.waitForSelector('.sticker img');
    assert.match((await page.textContent('#set-title')) ?? '', /Preview set \(1 stickers, regular\)/);
    await page.evaluate(() => new Promise((resolve) => document.querySelector<HTMLImageElement>('.sticker img')!.decode().then(resolve, resolve)));
    assert.ok(await page.$eval('.sticker img', (img) => (img as HTMLImageElement).naturalWidth > 0), 'the thumbnail shows');
    await page.click('.sticker');
    await page.waitForSelector('.card[data-format="default"][data-state="ok"]');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Done.', undefined, { timeout: 170_000 });
    await page.setInputFiles('#file', join(fixturesDir, 'animated_gif_160x90_1s.gif'));
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Done.' && document.querySelector('.card[data-format="default"] .meta')?.textContent?.startsWith('image/gif'), undefined, { timeout: 170_000 });
    const decoded = await page.evaluate(decodeCards([]), ['webp']);
    assert.ok(decoded.webp.frames > 1 && decoded.webp.differ, JSON.stringify(decoded));
    await page.screenshot({ path: join(SHOTS, 'preview-upload.png'), fullPage: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(outside, []);
    await page.close();
  });

  test('a custom emoji that Telegram repaints is shown in the tint chosen', { timeout: 180_000 }, async () => {
    const { page, errors } = await open();
    const asked: string[] = [];
    page.on('request', (r) => asked.push(r.url()));
    await page.fill('#what', '5368324170671202286');
    await page.fill('#size', '64');
    await page.$eval('#tint', (input) => ((input as HTMLInputElement).value = '#ff0000'));
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Done.', undefined, { timeout: 170_000 });
    assert.ok(asked.some((u) => u.endsWith('/custom-emoji/5368324170671202286?format=webp&size=64&tint=ff0000')), asked.join('\n'));
    // Every visible pixel of the PNG card is the tint.
    const colours = await page.evaluate(async () => {
      const img = document.querySelector<HTMLImageElement>('.card[data-format="png"] img')!;
      const canvas = new OffscreenCanvas(img.naturalWidth, img.naturalHeight);
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      const seen = new Set<string>();
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] === 255) seen.add(`${d[i]},${d[i + 1]},${d[i + 2]}`);
      return [...seen];
    });
    assert.deepEqual(colours, ['255,0,0']);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('an error is shown in the page, not thrown: an unknown set', async () => {
    const { page } = await open();
    await page.fill('#what', 'NoSuchSet');
    await page.click('button[type=submit]');
    await page.waitForSelector('#status.error');
    assert.match((await page.textContent('#status')) ?? '', /404 STICKER_SET_NOT_FOUND/);
    await page.close();
  });
});

test('GET / serves the page with a strict content security policy; PREVIEW_ENABLED=false, or URL signing, turns it off', async () => {
  const on = await buildTestApp();
  const off = await buildTestApp({ PREVIEW_ENABLED: 'false' });
  const signed = await buildTestApp({ URL_SIGNING_KEY: 'preview-signing-key-0123456789abcdef' });
  try {
    const page = await on.app.inject({ url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    for (const asset of [...page.payload.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])) {
      if (asset.startsWith('data:')) continue;
      assert.match(asset, /^\/preview\//, `${asset} is served here`);
      assert.equal((await on.app.inject({ url: asset })).statusCode, 200, asset);
    }
    assert.equal((await off.app.inject({ url: '/' })).statusCode, 404);
    assert.equal((await off.app.inject({ url: '/preview/preview.js' })).statusCode, 404);
    assert.equal((await signed.app.inject({ url: '/' })).statusCode, 404);
  } finally {
    await Promise.all([on.close(), off.close(), signed.close()]);
  }
});

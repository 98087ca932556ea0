import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { buildTestApp, fixture, fid, type TestApp } from './helper.js';
import { loadConfig, ConfigError } from '../src/config.js';
import { checkCustomPresets } from '../src/sticker/variant.js';

const KEY1 = 'first-signing-key-0123456789abcdef';
const KEY2 = 'second-signing-key-0123456789abcde';
const TOKEN = 'upload-token-0123456789';
const cli = join(__dirname, '..', 'src', 'cli.js');

/** The signature written out from the README's rule, not from the service's code. */
const sign = (key: string, canonical: string) => createHmac('sha256', key).update(canonical).digest('base64url');

describe('signed URLs (URL_SIGNING_KEY, two keys: a rotation)', () => {
  let t: TestApp;
  const id = fid('signed');
  before(async () => {
    t = await buildTestApp({ URL_SIGNING_KEY: `${KEY1}, ${KEY2}` });
    t.fake.add(id, { data: fixture('sticker_05.tgs') });
  });
  after(() => t.close());
  const get = (url: string) => t.app.inject({ url });

  test('no sig, a wrong one, or one for other parameters: 403 INVALID_SIGNATURE, and Telegram is never asked', async () => {
    const path = `/stickers/${id}`;
    for (const [url, why] of [
      [path, /no sig/],
      [`${path}?format=png&size=64`, /no sig/],
      [`${path}?format=png&size=64&sig=${sign(KEY1, `${path}?format=png&size=128`)}`, /does not match/],
      [`${path}?format=png&size=64&sig=${sign('another-key-of-enough-length-000000', `${path}?format=png&size=64`)}`, /does not match/],
      [`${path}?sig=not-base64-at-all!`, /does not match/],
      [`/stickers/${fid('other')}?sig=${sign(KEY1, path)}`, /does not match/],
    ] as const) {
      const res = await get(url);
      assert.equal(res.statusCode, 403, url);
      assert.equal(res.json().code, 'INVALID_SIGNATURE', url);
      assert.match(res.json().message, why, url);
    }
    assert.equal(t.fake.calls.getFile, 0);
  });

  test('signed with either key: served; the parameters in any order; sig anywhere in the query', async () => {
    const path = `/stickers/${id}`;
    assert.equal((await get(`${path}?sig=${sign(KEY1, path)}`)).statusCode, 200);
    assert.equal((await get(`${path}?sig=${sign(KEY2, path)}`)).statusCode, 200, 'the second key (rotation)');
    const sig = sign(KEY2, `${path}?format=png&size=64`);
    for (const url of [`${path}?format=png&size=64&sig=${sig}`, `${path}?size=64&sig=${sig}&format=png`]) {
      const res = await get(url);
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.headers['content-type'], 'image/png');
    }
  });

  test('other routes need no signature; POST /convert is off without UPLOAD_TOKEN (403 UPLOADS_DISABLED)', async () => {
    assert.equal((await get('/health')).statusCode, 200);
    assert.equal((await get('/formats')).statusCode, 200);
    const res = await t.app.inject({ method: 'POST', url: '/convert?format=png', payload: fixture('sticker_05.tgs'), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().code, 'UPLOADS_DISABLED');
  });

  test('sticker-processor sign prints a URL the service accepts; without a key it says so (exit 2)', async () => {
    const run = (env: Record<string, string>, ...args: string[]) => spawnSync(process.execPath, [cli, 'sign', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
    const r = run({ URL_SIGNING_KEY: `${KEY1},${KEY2}` }, `/stickers/${id}?format=webp&size=64`);
    assert.equal(r.status, 0, r.stderr);
    const url = r.stdout.trim();
    assert.match(url, new RegExp(`^/stickers/${id}\\?format=webp&size=64&sig=[A-Za-z0-9_-]{43}$`));
    const res = await get(url);
    assert.equal(res.statusCode, 200, res.payload);
    assert.equal(res.headers['content-type'], 'image/webp');
    const none = run({}, `/stickers/${id}`);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /URL_SIGNING_KEY is not set/);
  });
});

describe('UPLOAD_TOKEN and ONLY_PRESETS', () => {
  let t: TestApp;
  const id = fid('presetsonly');
  before(async () => {
    t = await buildTestApp({ UPLOAD_TOKEN: TOKEN, ONLY_PRESETS: 'true', URL_SIGNING_KEY: KEY1 });
    t.fake.add(id, { data: fixture('sticker_05.tgs') });
  });
  after(() => t.close());
  const upload = (url: string, authorization?: string) =>
    t.app.inject({ method: 'POST', url, payload: fixture('tiny_512_1s.tgs'), headers: { 'content-type': 'application/octet-stream', ...(authorization && { authorization }) } });

  test('POST /convert needs the token as a bearer token (401 without or with another), even with signing on', async () => {
    assert.equal((await upload('/convert?preset=telegram_emoji')).statusCode, 401);
    assert.equal((await upload('/convert?preset=telegram_emoji', 'Bearer upload-token-0123456780')).statusCode, 401);
    const ok = await upload('/convert?preset=telegram_emoji', `Bearer ${TOKEN}`);
    assert.equal(ok.statusCode, 200, ok.payload);
    assert.equal(ok.headers['x-preset'], 'telegram_emoji');
  });

  test('output options other than a preset name: 403 PRESET_REQUIRED, on GET and POST; a preset, or no option, is served', async () => {
    const path = `/stickers/${id}`;
    const signed = (query: string) => `${path}${query ? `?${query}&` : '?'}sig=${sign(KEY1, query ? `${path}?${[...new URLSearchParams(query)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join('&')}` : path)}`;
    for (const query of ['format=webp', 'size=64', 'preset=telegram_emoji&size=64', 'format=png&frame=3']) {
      const res = await t.app.inject({ url: signed(query) });
      assert.equal(res.statusCode, 403, query);
      assert.equal(res.json().code, 'PRESET_REQUIRED', query);
      assert.match(res.json().message, /telegram, telegram_emoji, whatsapp, signal/);
    }
    assert.equal((await upload('/convert?format=webp', `Bearer ${TOKEN}`)).json().code, 'PRESET_REQUIRED');
    const preset = await t.app.inject({ url: signed('preset=telegram_emoji') });
    assert.equal(preset.statusCode, 200, preset.payload);
    assert.equal(preset.headers['x-preset'], 'telegram_emoji');
    assert.equal((await t.app.inject({ url: signed('') })).headers['content-type'], 'application/json', 'no options: the sticker as it is');
    assert.equal((await t.app.inject({ url: signed('v=2') })).statusCode, 200, 'unknown parameters are ignored, as without ONLY_PRESETS');
  });
});

test('URL_SIGNING_KEY: a key under 32 characters is a configuration error that does not show the key', () => {
  assert.throws(() => loadConfig({ URL_SIGNING_KEY: `${KEY1},short-key` }), (err: Error) => err instanceof ConfigError && /URL_SIGNING_KEY=<hidden>/.test(err.message) && !err.message.includes('short-key'));
  assert.deepEqual(loadConfig({ URL_SIGNING_KEY: ` ${KEY1} , ${KEY2} ` }).access.signingKeys, [KEY1, KEY2]);
  assert.equal(loadConfig({}).access.signingKeys, undefined);
});

describe('CUSTOM_PRESETS: names for fixed output options, served alone under ONLY_PRESETS', () => {
  let t: TestApp;
  const id = fid('custom');
  before(async () => {
    t = await buildTestApp({ CUSTOM_PRESETS: 'thumb=format=webp&size=64; still=format=png&size=32&frame=2', ONLY_PRESETS: 'true' });
    t.fake.add(id, { data: fixture('sticker_05.tgs') });
  });
  after(() => t.close());

  test('preset=<custom name> is its options; with other options it is refused; the 403 lists the custom names', async () => {
    const thumb = await t.app.inject({ url: `/stickers/${id}?preset=thumb` });
    assert.equal(thumb.statusCode, 200, thumb.payload);
    assert.deepEqual([thumb.headers['content-type'], thumb.headers['x-output-width']], ['image/webp', '64']);
    const still = await t.app.inject({ url: `/stickers/${id}?preset=still` });
    assert.deepEqual([still.headers['content-type'], still.headers['x-output-width']], ['image/png', '32']);
    const mixed = await t.app.inject({ url: `/stickers/${id}?preset=thumb&size=128` });
    assert.equal(mixed.statusCode, 403);
    assert.match(mixed.json().message, /telegram, telegram_emoji, whatsapp, signal, thumb, still/);
    const upload = await t.app.inject({ method: 'POST', url: '/convert?preset=thumb', payload: fixture('tiny_512_1s.tgs'), headers: { 'content-type': 'application/octet-stream' } });
    assert.deepEqual([upload.statusCode, upload.headers['x-output-width']], [200, '64']);
  });
});

test('CUSTOM_PRESETS: a custom preset with other options is a 400 without ONLY_PRESETS; bad names and queries stop the start with the reason', async () => {
  const t = await buildTestApp({ CUSTOM_PRESETS: 'thumb=format=webp&size=64' });
  try {
    t.fake.add(fid('custom2'), { data: fixture('sticker_05.tgs') });
    const res = await t.app.inject({ url: `/stickers/${fid('custom2')}?preset=thumb&size=128` });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().message, /preset thumb chooses the output; give it without size/);
  } finally {
    await t.close();
  }
  for (const [text, why] of [
    ['Thumb=format=webp', /"Thumb" is not a preset name/],
    ['a=format=webp;a=format=png', /"a" is given twice/],
    ['telegram=format=webp', /preset telegram: the name is a platform preset's/],
    ['tiny=format=webp&size=5', /preset tiny: Invalid query parameter "size"/],
    ['odd=colour=red', /preset odd: give output options .*, not colour/],
    ['empty', /preset empty: give output options/],
  ] as const) {
    assert.throws(() => checkCustomPresets(loadConfig({ CUSTOM_PRESETS: text }).customPresets, 1024), (err: Error) => err instanceof ConfigError && why.test(err.message), text);
  }
});

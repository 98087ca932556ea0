import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { availableRenderers, buildTestApp, fid, type TestApp } from './helper.js';
import { hostileFiles } from './hostile-files.js';
import { sanitizeLottie, stripUnsafe } from '../src/convert/render/sanitize.js';

/** A 100x100 opaque red PNG, for image assets. */
let RED_PNG: Buffer;
before(async () => {
  RED_PNG = await sharp({ create: { width: 100, height: 100, channels: 4, background: '#ff0000' } }).png().toBuffer();
});

/** One image layer covering the 100x100 canvas, showing the given asset. */
function imageLayer(asset: { u: string; p: string; e: number }) {
  const ks = { o: { a: 0, k: 100 }, r: { a: 0, k: 0 }, p: { a: 0, k: [0, 0, 0] }, a: { a: 0, k: [0, 0, 0] }, s: { a: 0, k: [100, 100, 100] } };
  return {
    v: '5.7.0', fr: 30, ip: 0, op: 10, w: 100, h: 100,
    assets: [{ id: 'img', w: 100, h: 100, ...asset }],
    layers: [{ ddd: 0, ind: 1, ty: 2, refId: 'img', sr: 1, ip: 0, op: 10, st: 0, ks }],
  }; // prettier-ignore
}

/** A full-canvas red square at opacity 100; the expression, if it ran, would set the opacity to 0. */
function redSquare(expression?: string) {
  return {
    v: '5.7.0', fr: 30, ip: 0, op: 10, w: 100, h: 100,
    layers: [{
      ddd: 0, ind: 1, ty: 4, nm: 'r', sr: 1, ip: 0, op: 10, st: 0, ao: 0,
      ks: { o: { a: 0, k: 100, ix: 11, ...(expression ? { x: expression } : {}) }, r: { a: 0, k: 0 }, p: { a: 0, k: [50, 50, 0] }, a: { a: 0, k: [0, 0, 0] }, s: { a: 0, k: [100, 100, 100] } },
      shapes: [{ ty: 'gr', it: [
        { ty: 'rc', d: 1, s: { a: 0, k: [100, 100] }, p: { a: 0, k: [0, 0] }, r: { a: 0, k: 0 } },
        { ty: 'fl', c: { a: 0, k: [1, 0, 0, 1] }, o: { a: 0, k: 100 }, r: 1 },
        { ty: 'tr', p: { a: 0, k: [0, 0] }, a: { a: 0, k: [0, 0] }, s: { a: 0, k: [100, 100] }, r: { a: 0, k: 0 }, o: { a: 0, k: 100 } },
      ] }],
    }],
  }; // prettier-ignore
}

for (const renderer of availableRenderers()) describe(`Lottie expressions are never evaluated, outside assets never loaded, effects never drawn (RENDERER=${renderer})`, () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ RENDERER: renderer });
  });
  after(() => t.close());

  test('served Lottie never carries an expression: gzip and identity, from Telegram and from an upload', async () => {
    const probe = "process.getBuiltinModule('fs').writeFileSync('/tmp/pwned', 'x'); 100";
    const tgs = gzipSync(JSON.stringify(redSquare(probe)));
    t.fake.add(fid('expr-served'), { data: tgs });
    const gz = await t.app.inject({ url: `/stickers/${fid('expr-served')}`, headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.notDeepEqual(gz.rawPayload, tgs, 'a file with an expression is re-compressed without it');
    const identity = await t.app.inject({ url: `/stickers/${fid('expr-served')}` });
    for (const text of [gunzipSync(gz.rawPayload).toString(), identity.payload]) {
      assert.doesNotMatch(text, /getBuiltinModule/);
      assert.equal(JSON.parse(text).layers[0].ks.o.k, 100, 'the rest of the document is intact');
    }
    const upload = await t.app.inject({ method: 'POST', url: '/convert?format=lottie', payload: tgs });
    assert.doesNotMatch(upload.payload, /getBuiltinModule/);
    const original = await t.app.inject({ url: `/stickers/${fid('expr-served')}?format=original` });
    assert.doesNotMatch(gunzipSync(original.rawPayload).toString(), /getBuiltinModule/, 'format=original is the cleaned TGS');
  });

  test('a layer effect is not drawn: a blurred square renders as the plain square, as in Telegram', async () => {
    // A 50 px square in the middle of the canvas, so a blur would spread it over the transparent border.
    const square = () => {
      const doc = redSquare();
      doc.layers[0].shapes[0].it[0].s = { a: 0, k: [50, 50] };
      return doc;
    };
    const blurred = square();
    const values = [{ ty: 0, nm: 'Blurriness', ix: 1, v: { a: 0, k: 200 } }, { ty: 7, nm: 'Blur Dimensions', ix: 2, v: { a: 0, k: 1 } }, { ty: 7, nm: 'Repeat Edge Pixels', ix: 3, v: { a: 0, k: 0 } }];
    Object.assign(blurred.layers[0], { ef: [{ ty: 29, nm: 'Gaussian Blur', np: 5, ix: 1, en: 1, ef: values }] });
    t.fake.add(fid('fx-plain'), { data: gzipSync(JSON.stringify(square())) });
    t.fake.add(fid('fx-blur'), { data: gzipSync(JSON.stringify(blurred)) });
    const [plain, blur] = await Promise.all(['fx-plain', 'fx-blur'].map((id) => t.app.inject({ url: `/stickers/${fid(id)}?format=png&size=64` })));
    assert.equal(blur.statusCode, 200);
    const px = (r: typeof plain) => sharp(r.rawPayload).raw().toBuffer();
    assert.deepEqual(await px(blur), await px(plain));
  });

  test('an expression that would hide the layer leaves no trace in the rendered PNG', async () => {
    t.fake.add(fid('plain'), { data: gzipSync(JSON.stringify(redSquare())) });
    t.fake.add(fid('expr'), { data: gzipSync(JSON.stringify(redSquare('var $bm_rt; $bm_rt = 0;'))) });
    for (const id of ['plain', 'expr']) {
      const res = await t.app.inject({ url: `/stickers/${fid(id)}?format=png` });
      assert.equal(res.statusCode, 200, id);
      const { data, info } = await sharp(res.rawPayload).raw().toBuffer({ resolveWithObject: true });
      const i = (50 * info.width + 50) * info.channels;
      assert.deepEqual([...data.subarray(i, i + 4)], [255, 0, 0, 255], `${id}: the square is drawn at full opacity`);
    }
  });

  test('an expression behind an escaped key (\\u0078) is found and removed too', async () => {
    const text = JSON.stringify(redSquare('var $bm_rt; $bm_rt = 0;')).replace('"x":', '"\\u0078":');
    assert.ok(text.includes('"\\u0078":'));
    t.fake.add(fid('escaped'), { data: gzipSync(text) });
    const res = await t.app.inject({ url: `/stickers/${fid('escaped')}?format=png` });
    const { data, info } = await sharp(res.rawPayload).raw().toBuffer({ resolveWithObject: true });
    const i = (50 * info.width + 50) * info.channels;
    assert.deepEqual([...data.subarray(i, i + 4)], [255, 0, 0, 255]);
  });

  test('an endless expression cannot hang a conversion', async () => {
    t.fake.add(fid('loop'), { data: gzipSync(JSON.stringify(redSquare('while (true) {}'))) });
    const res = await t.app.inject({ url: `/stickers/${fid('loop')}?format=png` });
    assert.equal(res.statusCode, 200);
  });

  test('image assets are never fetched from a URL or read from a file; embedded ones are drawn', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end(RED_PNG);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const png = join(mkdtempSync(join(tmpdir(), 'asset-')), 'red.png');
      writeFileSync(png, RED_PNG);
      for (const [id, asset] of [
        ['remote', { u: `http://127.0.0.1:${port}/`, p: 'red.png', e: 0 }],
        ['file', { u: '', p: png, e: 0 }],
        ['file-url', { u: 'file://', p: png, e: 0 }],
        ['embedded', { u: '', p: `data:image/png;base64,${RED_PNG.toString('base64')}`, e: 1 }],
      ] as const) {
        t.fake.add(fid(`img-${id}`), { data: gzipSync(JSON.stringify(imageLayer(asset))) });
        const res = await t.app.inject({ url: `/stickers/${fid(`img-${id}`)}?format=png` });
        assert.equal(res.statusCode, 200, `${id}: ${res.payload.slice(0, 200)}`);
        const { data, info } = await sharp(res.rawPayload).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
        const i = (50 * info.width + 50) * 4;
        const drawn = data[i + 3] > 0;
        assert.equal(drawn, id === 'embedded', `${id}: image drawn = ${drawn}`);
      }
      assert.equal(requests, 0, 'no request reached the asset server');
    } finally {
      server.close();
    }
  });
});

describe('every broken or hostile file of the issue, through the route', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  test('each gets its 4xx with a clear message, nothing is cached for it, and the service keeps answering', async () => {
    for (const h of hostileFiles()) {
      t.fake.add(fid(`h-${h.name}`), { data: h.data });
      const res = await t.app.inject({ url: `/stickers/${fid(`h-${h.name}`)}?format=png` });
      assert.equal(res.statusCode, h.status, `${h.name}: ${res.payload.slice(0, 200)}`);
      const body = JSON.parse(res.payload) as { message: string; code: string };
      assert.match(body.message, h.says, h.name);
      // Asked again, the file is fetched again: neither it nor a result was cached.
      const before = t.fake.calls.download;
      assert.equal((await t.app.inject({ url: `/stickers/${fid(`h-${h.name}`)}?format=png` })).statusCode, h.status);
      assert.equal(t.fake.calls.download, before + 1, `${h.name} was not cached`);
    }
    t.fake.add(fid('h-good'), { data: gzipSync(JSON.stringify(redSquare())) });
    assert.equal((await t.app.inject({ url: `/stickers/${fid('h-good')}?format=png` })).statusCode, 200);
  });
});

describe('expression stripping', () => {
  test('sanitizeLottie leaves safe text untouched and strips expressions and outside references', () => {
    const plain = JSON.stringify(redSquare());
    assert.equal(sanitizeLottie(plain), plain);
    assert.equal(sanitizeLottie('{"a":{"k":1, "x" : "code()", "X": "kept"},"i":{"x":0.3}}'), '{"a":{"k":1,"X":"kept"},"i":{"x":0.3}}');
    const png = `data:image/png;base64,${RED_PNG.toString('base64')}`;
    const assets = `{"assets":[{"id":"a","u":"http://h/","p":"i.png"},{"id":"b","p":"${png}"}],"fonts":{"list":[{"fPath":"http://h/f.css"}]}}`;
    assert.equal(sanitizeLottie(assets), `{"assets":[{"id":"a"},{"id":"b","p":"${png}"}],"fonts":{"list":[{}]}}`);
    // A few bytes that declare a 20000x20000 image (1.6 GB of pixels) are left out; so is what is not PNG or JPEG.
    const ihdr = Buffer.from(RED_PNG.subarray(0, 33));
    ihdr.writeUInt32BE(20_000, 16);
    ihdr.writeUInt32BE(20_000, 20);
    const bomb = `{"assets":[{"id":"c","p":"data:image/png;base64,${ihdr.toString('base64')}"},{"id":"d","p":"data:image/svg+xml;base64,PHN2Zy8+"}]}`;
    assert.equal(sanitizeLottie(bomb), '{"assets":[{"id":"c"},{"id":"d"}]}');
    // Escaped key spellings cannot slip past the quick check.
    assert.equal(sanitizeLottie('{"assets":[{"\\u0070":"/etc/passwd"}]}'), '{"assets":[{}]}');
    assert.equal(sanitizeLottie('{"fonts":{"list":[{"f\\u0050ath":"http://h/"}]}}'), '{"fonts":{"list":[{}]}}');
  });

  test('layer effects are removed, as Telegram draws none; text without them is left as it is', () => {
    const blurred = { layers: [{ ty: 4, ef: [{ ty: 29, ef: [{ nm: 'Blurriness', v: { a: 0, k: 2000 } }] }], ks: {} }] };
    assert.equal(sanitizeLottie(JSON.stringify(blurred)), '{"layers":[{"ty":4,"ks":{}}]}');
    assert.equal(sanitizeLottie(JSON.stringify({ layers: [{ ty: 4, ef: [] }] })), '{"layers":[{"ty":4,"ef":[]}]}');
    assert.equal(sanitizeLottie('{"layers":[{"ty":4,"\\u0065f":[{"ty":25}]}]}'), '{"layers":[{"ty":4}]}');
  });

  test('stripUnsafe removes string "x" everywhere, keeps numeric ones, and copes with deep nesting', () => {
    const doc = { a: { k: 1, x: 'code()' }, list: [{ x: 'more()' }, { x: [0.5], y: [0.5] }], i: { x: 0.3 } };
    assert.equal(stripUnsafe(doc), 2);
    assert.deepEqual(doc, { a: { k: 1 }, list: [{}, { x: [0.5], y: [0.5] }], i: { x: 0.3 } });
    let deep: unknown = { x: 'bottom()' };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(stripUnsafe(deep), 1);
  });
});

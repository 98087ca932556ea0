import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { buildTestApp, fid, type TestApp } from './helper.js';
import { stripExpressions, withoutExpressions } from '../src/convert/render/sanitize.js';

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

describe('Lottie expressions are never evaluated', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

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

  test('a precomposition that contains itself is refused with 422, and the next conversion works', async () => {
    const ks = { o: { a: 0, k: 100 }, r: { a: 0, k: 0 }, p: { a: 0, k: [0, 0, 0] }, a: { a: 0, k: [0, 0, 0] }, s: { a: 0, k: [100, 100, 100] } };
    const self = { ddd: 0, ind: 1, ty: 0, refId: 'c', sr: 1, ip: 0, op: 10, st: 0, w: 100, h: 100, ks };
    const cyclic = { v: '5.7.0', fr: 30, ip: 0, op: 10, w: 100, h: 100, assets: [{ id: 'c', layers: [self] }], layers: [self] };
    t.fake.add(fid('cycle'), { data: gzipSync(JSON.stringify(cyclic)) });
    const res = await t.app.inject({ url: `/stickers/${fid('cycle')}?format=png` });
    assert.equal(res.statusCode, 422);
    assert.equal(JSON.parse(res.payload).code, 'UNRENDERABLE');
    t.fake.add(fid('after'), { data: gzipSync(JSON.stringify(redSquare())) });
    assert.equal((await t.app.inject({ url: `/stickers/${fid('after')}?format=png` })).statusCode, 200);
  });

  test('tens of thousands of layers are refused before any rendering', async () => {
    const doc = redSquare();
    doc.layers = Array.from({ length: 20_000 }, (_, i) => ({ ...doc.layers[0], ind: i + 1 }));
    t.fake.add(fid('layers'), { data: gzipSync(JSON.stringify(doc)) });
    const res = await t.app.inject({ url: `/stickers/${fid('layers')}?format=png` });
    assert.equal(res.statusCode, 422);
    assert.match(JSON.parse(res.payload).message, /20000 layers; at most 5000/);
  });

  test('withoutExpressions leaves text without expressions untouched and strips the rest', () => {
    const plain = JSON.stringify(redSquare());
    assert.equal(withoutExpressions(plain), plain);
    assert.equal(withoutExpressions('{"a":{"k":1, "x" : "code()", "X": "kept"},"i":{"x":0.3}}'), '{"a":{"k":1,"X":"kept"},"i":{"x":0.3}}');
  });

  test('stripExpressions removes string "x" everywhere, keeps numeric ones, and copes with deep nesting', () => {
    const doc = { a: { k: 1, x: 'code()' }, list: [{ x: 'more()' }, { x: [0.5], y: [0.5] }], i: { x: 0.3 } };
    assert.equal(stripExpressions(doc), 2);
    assert.deepEqual(doc, { a: { k: 1 }, list: [{}, { x: [0.5], y: [0.5] }], i: { x: 0.3 } });
    let deep: unknown = { x: 'bottom()' };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(stripExpressions(deep), 1);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { fixture } from './helper.js';
import { hostileFiles } from './hostile-files.js';

const cli = join(__dirname, '..', 'src', 'cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });

test('convert one file: a TGS to an animated WebP of the asked size', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-cli-'));
  const src = join(dir, 'a.tgs');
  writeFileSync(src, fixture('sticker_05.tgs'));
  const r = run('convert', src, '--format', 'webp', '--size', '64', '-o', join(dir, 'out.webp'));
  assert.equal(r.status, 0, r.stderr);
  const meta = await sharp(readFileSync(join(dir, 'out.webp')), { animated: true }).metadata();
  assert.deepEqual([meta.format, meta.width, meta.pages], ['webp', 64, 31]);
});

test('convert an animated GIF to a threshold GIF and a TGS to WebM (--gif-alpha, --format webm)', { skip: spawnSync('ffmpeg', ['-version']).status === 0 ? undefined : 'no ffmpeg' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-cli-anim-'));
  const r = run('convert', join(__dirname, '..', '..', 'test', 'fixtures', 'translucent_96x64_1s.webp'), '--format', 'gif', '--gif-alpha', 'threshold', '-o', join(dir, 't.gif'));
  assert.equal(r.status, 0, r.stderr);
  const gif = await sharp(readFileSync(join(dir, 't.gif')), { animated: true }).metadata();
  assert.deepEqual([gif.format, gif.pages], ['gif', 20]);
  const px = await sharp(readFileSync(join(dir, 't.gif'))).ensureAlpha().raw().toBuffer();
  assert.equal(px[3], 0, 'threshold: the translucent corner is clear');
  const v = run('convert', join(__dirname, '..', '..', 'test', 'fixtures', 'sticker_05.tgs'), '--format', 'webm', '--size', '128', '-o', join(dir, 's.webm'));
  assert.equal(v.status, 0, v.stderr);
  assert.deepEqual([...readFileSync(join(dir, 's.webm')).subarray(0, 4)], [0x1a, 0x45, 0xdf, 0xa3], 'a Matroska/WebM file');
  assert.equal(run('convert', join(dir, 't.gif'), '--format', 'gif', '--gif-alpha', 'half').status, 2);
});

test('convert a directory: good files converted, every hostile file of the issue reported with its reason, exit code 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-cli-dir-'));
  writeFileSync(join(dir, 'good.tgs'), fixture('tiny_512_1s.tgs'));
  writeFileSync(join(dir, 'image.webp'), fixture('static_webp_800x600.webp'));
  writeFileSync(join(dir, 'expr.tgs'), gzipSync(JSON.stringify({ v: '5.7.0', fr: 30, ip: 0, op: 10, w: 100, h: 100, layers: [{ ty: 4, ind: 1, ip: 0, op: 10, st: 0, ks: { o: { a: 0, k: 100, x: 'while(true){}' } }, shapes: [] }] })));
  const hostile = hostileFiles();
  for (const h of hostile) writeFileSync(join(dir, `${h.name}.tgs`), h.data);
  const out = join(dir, 'out');
  const r = run('convert', dir, '--format', 'png', '--size', '32', '-o', out);
  assert.equal(r.status, 1);
  assert.ok(existsSync(join(out, 'good.png')));
  assert.ok(existsSync(join(out, 'image.png')));
  assert.ok(existsSync(join(out, 'expr.png')), 'an expression is stripped, not run, and does not hang');
  for (const h of hostile) {
    const line = r.stderr.split('\n').find((l) => l.includes(`/${h.name}.tgs: `));
    assert.ok(line, `${h.name} is reported`);
    assert.match(line, h.says, h.name);
  }
  const total = hostile.length + 3;
  assert.match(r.stderr, new RegExp(`\\[#+\\] ${total}/${total}, ${hostile.length} failed`));
  assert.match(r.stderr, /3 converted into/);
});

test('bad usage exits 2 with a message', () => {
  assert.equal(run('convert').status, 2);
  const r = run('convert', 'nowhere.tgs', '--size', '2');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /"size": a decimal integer from 16/);
});

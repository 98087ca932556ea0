import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestApp, fid, fixture, type TestApp } from './helper.js';
import { FakeTelegram } from './fake-telegram.js';

const TGS = fixture('sticker_05.tgs');
const freshDir = () => mkdtempSync(join(tmpdir(), 'sp-disk-'));

describe('disk tier', () => {
  let fake: FakeTelegram;
  before(async () => (fake = await new FakeTelegram().start()));
  after(() => fake.close());
  const app = (dir: string, env: Record<string, string> = {}) => buildTestApp({ DISK_CACHE_ENABLED: 'true', DISK_CACHE_DIR: dir, ...env }, fake);

  test('processes sharing a directory share the cache, stickers and variants, and it survives a restart', async () => {
    const dir = freshDir();
    fake.add(fid('d1'), { data: TGS });
    const [a, b] = [await app(dir), await app(dir)];
    try {
      fake.resetCounts();
      const first = await a.app.inject({ url: `/stickers/${fid('d1')}`, headers: { 'accept-encoding': 'gzip' } });
      assert.equal(first.headers['x-cache-status'], 'MISS');
      const png = await a.app.inject({ url: `/stickers/${fid('d1')}?format=png&size=64` });
      assert.equal(png.headers['x-cache-status'], 'MISS');
      const other = await b.app.inject({ url: `/stickers/${fid('d1')}`, headers: { 'accept-encoding': 'gzip' } });
      assert.equal(other.headers['x-cache-status'], 'HIT');
      assert.deepEqual(other.rawPayload, TGS);
      const otherPng = await b.app.inject({ url: `/stickers/${fid('d1')}?format=png&size=64` });
      assert.equal(otherPng.headers['x-cache-status'], 'HIT');
      assert.deepEqual(otherPng.rawPayload, png.rawPayload);
      assert.deepEqual(fake.calls, { getFile: 1, download: 1 });
      const stats = JSON.parse((await b.app.inject({ url: '/cache/stats' })).payload);
      assert.equal(stats.disk.entries, 2);
      assert.ok(stats.disk.bytes > TGS.length);
      assert.ok(stats.disk.hits >= 2);
    } finally {
      await a.close();
      await b.close();
    }
    const c = await app(dir);
    try {
      fake.resetCounts();
      const again = await c.app.inject({ url: `/stickers/${fid('d1')}?format=png&size=64` });
      assert.equal(again.headers['x-cache-status'], 'HIT');
      assert.deepEqual(fake.calls, { getFile: 0, download: 0 });
    } finally {
      await c.close();
    }
  });

  test('DISK_CACHE_MAX_SIZE_MB holds: least recently used entries go first', async () => {
    const c = await app(freshDir(), { DISK_CACHE_MAX_SIZE_MB: '1', MEMORY_CACHE_MB: '0' });
    try {
      fake.add(fid('d2'), { data: fixture('sticker_02.tgs') });
      // Forty frames of about 50 KB each: twice the limit.
      for (let frame = 0; frame < 40; frame++) {
        const r = await c.app.inject({ url: `/stickers/${fid('d2')}?format=png&size=512&frame=${frame}` });
        assert.equal(r.statusCode, 200);
      }
      const { disk } = JSON.parse((await c.app.inject({ url: '/cache/stats' })).payload);
      assert.ok(disk.bytes <= 1024 * 1024, `${disk.bytes} bytes`);
      assert.ok(disk.evictions > 0);
      const newest = await c.app.inject({ url: `/stickers/${fid('d2')}?format=png&size=512&frame=39` });
      assert.equal(newest.headers['x-cache-status'], 'HIT');
      const oldest = await c.app.inject({ url: `/stickers/${fid('d2')}?format=png&size=512&frame=0` });
      assert.equal(oldest.headers['x-cache-status'], 'MISS');
    } finally {
      await c.close();
    }
  });

  test('expired entries are misses and are swept; DELETE /cache/:fileId and /cache/all clear the disk', async () => {
    const dir = freshDir();
    const expired = await app(dir, { DISK_CACHE_TTL_DAYS: '0', MEMORY_CACHE_MB: '0' });
    try {
      fake.add(fid('d3'), { data: TGS });
      fake.resetCounts();
      await expired.app.inject({ url: `/stickers/${fid('d3')}` });
      await expired.app.inject({ url: `/stickers/${fid('d3')}` });
      assert.equal(fake.calls.download, 2, 'an expired entry is a miss');
      assert.equal(await expired.app.disk!.sweep(true), 1);
      assert.equal(expired.app.disk!.totals().entries, 0);
    } finally {
      await expired.close();
    }
    const admin = await app(dir, { ADMIN_TOKEN: 'disk-admin-token-0123456789', MEMORY_CACHE_MB: '0' });
    try {
      fake.add(fid('d4'), { data: TGS }).add(fid('d5'), { data: fixture('sticker_01.tgs') });
      for (const id of ['d4', 'd5']) await admin.app.inject({ url: `/stickers/${fid(id)}?format=png&size=32` });
      assert.equal(admin.app.disk!.totals().entries, 4);
      const auth = { authorization: 'Bearer disk-admin-token-0123456789' };
      assert.equal((await admin.app.inject({ method: 'DELETE', url: `/cache/${fid('d4')}`, headers: auth })).statusCode, 200);
      assert.equal(admin.app.disk!.totals().entries, 2);
      assert.equal((await admin.app.inject({ method: 'DELETE', url: '/cache/all', headers: auth })).statusCode, 200);
      assert.equal(admin.app.disk!.totals().entries, 0);
    } finally {
      await admin.close();
    }
  });

  test('a corrupt entry is a miss, removed and logged once', async () => {
    const dir = freshDir();
    const c = await app(dir, { MEMORY_CACHE_MB: '0' });
    try {
      fake.add(fid('d6'), { data: TGS });
      fake.resetCounts();
      await c.app.inject({ url: `/stickers/${fid('d6')}` });
      // Damage the stored value from outside, as a disk fault would.
      const { open } = await import('lmdb');
      const other = open({ path: dir, maxDbs: 8 });
      const entries = other.openDB<Buffer, string>({ name: 'entries', encoding: 'binary' });
      const key = [...entries.getKeys()][0];
      await entries.put(key, Buffer.from('not an entry at all'));
      await other.close();
      for (let i = 0; i < 2; i++) assert.equal((await c.app.inject({ url: `/stickers/${fid('d6')}` })).statusCode, 200);
      assert.equal(fake.calls.download, 2, 'the corrupt entry was a miss, and its replacement a hit');
      assert.equal(c.logs.filter((l) => l.includes('unreadable entry')).length, 1);
    } finally {
      await c.close();
    }
  });

  test('a directory it cannot use is a warning at start; the service serves from the other tiers', async () => {
    const file = join(freshDir(), 'a-file');
    writeFileSync(file, 'x');
    const c = await app(join(file, 'cache'));
    try {
      assert.equal(c.app.disk, undefined);
      assert.ok(c.logs.some((l) => l.includes('disk cache unusable')));
      fake.add(fid('d7'), { data: TGS });
      assert.equal((await c.app.inject({ url: `/stickers/${fid('d7')}` })).statusCode, 200);
      const ready = JSON.parse((await c.app.inject({ url: '/health/ready' })).payload);
      assert.equal(ready.status, 'degraded');
      assert.match(ready.checks.cache.disk, /unusable/);
    } finally {
      await c.close();
    }
  });
});

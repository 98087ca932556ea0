import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache } from '../src/cache/memory.js';
import { TieredCache } from '../src/cache/tiered.js';
import { makeEntry, type StickerEntry } from '../src/model/entry.js';
import type { SharedTier, StoredEntry } from '../src/model/tiers.js';

/** A shared tier kept in a Map: the contract every real tier (disk, Redis) implements. */
class MapTier implements SharedTier {
  constructor(readonly name: string) {}
  readonly entries = new Map<string, StoredEntry>();
  readonly uids = new Map<string, string>();
  reads = 0;
  async get(fileId: string, variant = 'default') {
    this.reads++;
    const uid = this.uids.get(fileId);
    return uid === undefined ? undefined : this.entries.get(`${uid}:${variant}`);
  }
  async getByUid(fileId: string, uid: string) {
    const e = this.entries.get(`${uid}:default`);
    if (e) this.uids.set(fileId, uid);
    return e;
  }
  async set(fileId: string, entry: StickerEntry, variant = 'default') {
    this.uids.set(fileId, entry.fileUniqueId);
    this.entries.set(`${entry.fileUniqueId}:${variant}`, entry);
  }
  async delete(fileId: string) {
    const uid = this.uids.get(fileId);
    this.uids.delete(fileId);
    for (const k of this.entries.keys()) if (k.startsWith(`${uid}:`)) this.entries.delete(k);
    return uid;
  }
  async clear() {
    const n = this.entries.size;
    this.entries.clear();
    this.uids.clear();
    return n;
  }
}

const entry = (uid: string, text: string) =>
  makeEntry({ fileUniqueId: uid, original: 'webp', output: 'webp', contentType: 'image/webp', isConverted: false, conversionMs: 0, plain: Buffer.from(text) });

const chain = () => {
  const memory = new MemoryCache<StickerEntry>({ maxBytes: 1 << 20, ttlMs: 60_000 });
  const near = new MapTier('near');
  const far = new MapTier('far');
  return { memory, near, far, cache: new TieredCache(memory, [near, far]) };
};

test('a write goes through every tier; a variant is kept apart from the sticker as stored', async () => {
  const { cache, near, far } = chain();
  await cache.set('file-a', entry('U1', 'stored'));
  await cache.set('file-a', entry('U1', 'as png'), 'png');
  for (const tier of [near, far]) {
    assert.equal((await tier.get('file-a'))?.plain?.toString(), 'stored');
    assert.equal((await tier.get('file-a', 'png'))?.plain?.toString(), 'as png');
  }
  assert.equal(cache.local('file-a')?.plain?.toString(), 'stored');
  assert.equal(cache.local('file-a', 'png')?.plain?.toString(), 'as png');
});

test('a hit in a lower tier warms every tier above it, and the next read stops at the top', async () => {
  const { cache, memory, near, far } = chain();
  await far.set('file-a', entry('U1', 'from far'));
  assert.equal((await cache.get('file-a'))?.plain?.toString(), 'from far');
  assert.equal((await near.get('file-a'))?.plain?.toString(), 'from far');
  assert.equal(memory.peek('file-a')?.plain?.toString(), 'from far');
  const reads = near.reads;
  assert.equal((await cache.get('file-a'))?.plain?.toString(), 'from far');
  assert.equal(near.reads, reads, 'the in-process tier answered');
});

test('the nearest tier that has the entry answers; tiers below it are not read', async () => {
  const { cache, near, far } = chain();
  await near.set('file-a', entry('U1', 'near'));
  await far.set('file-a', entry('U1', 'far'));
  assert.equal((await cache.shared('file-a'))?.plain?.toString(), 'near');
  assert.equal(far.reads, 0);
});

test('another file_id of a stored sticker is found by its file_unique_id', async () => {
  const { cache } = chain();
  await cache.set('file-a', entry('U1', 'stored'));
  assert.equal(await cache.get('file-b'), undefined);
  assert.equal((await cache.byUid('file-b', 'U1'))?.plain?.toString(), 'stored');
  assert.equal(cache.local('file-b')?.plain?.toString(), 'stored');
});

test('delete empties the shared tiers and names the sticker; clear empties them all', async () => {
  const { cache, near, far } = chain();
  await cache.set('file-a', entry('U1', 'stored'));
  await cache.set('file-a', entry('U1', 'as png'), 'png');
  assert.equal(await cache.delete('file-a'), 'U1');
  assert.equal(near.entries.size + far.entries.size, 0);
  cache.dropLocal('file-a', 'U1');
  assert.equal(cache.local('file-a'), undefined);
  assert.equal(cache.local('file-a', 'png'), undefined);
  await cache.set('file-c', entry('U3', 'x'));
  assert.deepEqual(await cache.clear(), { near: 1, far: 1 });
});

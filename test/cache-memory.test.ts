import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache } from '../src/cache/memory.js';

const v = (bytes: number) => ({ bytes });

test('evicts least recently used entries to stay within the byte budget', () => {
  const c = new MemoryCache<{ bytes: number }>({ maxBytes: 100, ttlMs: 60_000 });
  c.set('a', v(40));
  c.set('b', v(40));
  assert.ok(c.get('a')); // a is now more recent than b
  c.set('c', v(40));
  assert.equal(c.get('b'), undefined);
  assert.ok(c.get('a'));
  assert.ok(c.get('c'));
  const s = c.stats();
  assert.equal(s.bytes, 80);
  assert.equal(s.items, 2);
  assert.equal(s.evictions, 1);
});

test('refuses a value larger than the whole budget without evicting others', () => {
  const c = new MemoryCache<{ bytes: number }>({ maxBytes: 100, ttlMs: 60_000 });
  c.set('a', v(50));
  assert.equal(c.set('big', v(101)), false);
  assert.ok(c.get('a'));
  assert.equal(c.stats().bytes, 50);
});

test('replacing a key re-accounts its bytes', () => {
  const c = new MemoryCache<{ bytes: number }>({ maxBytes: 100, ttlMs: 60_000 });
  c.set('a', v(10));
  c.set('a', v(30));
  assert.equal(c.stats().bytes, 30);
  assert.equal(c.stats().items, 1);
});

test('entries expire after the TTL and count as misses', () => {
  let now = 1000;
  const c = new MemoryCache<{ bytes: number }>({ maxBytes: 100, ttlMs: 50, now: () => now });
  c.set('a', v(10));
  now += 49;
  assert.ok(c.get('a'));
  now += 2;
  assert.equal(c.get('a'), undefined);
  assert.deepEqual([c.stats().hits, c.stats().misses, c.stats().bytes], [1, 1, 0]);
});

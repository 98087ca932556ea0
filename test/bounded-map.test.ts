import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiringMap } from '../src/bounded-map.js';

test('ExpiringMap: an entry is kept for its TTL and no longer; at most max entries, the oldest set leaving first', () => {
  const kept = new ExpiringMap<string, number>(60_000, 2);
  kept.set('a', 1);
  kept.set('b', 2);
  assert.deepEqual([kept.get('a'), kept.get('b')], [1, 2]);
  kept.set('c', 3);
  assert.deepEqual([kept.get('a'), kept.get('b'), kept.get('c')], [undefined, 2, 3]);
  kept.delete('b');
  assert.equal(kept.get('b'), undefined);
  kept.clear();
  assert.equal(kept.get('c'), undefined);
  // A TTL of 0: expired the moment it is set (what STICKER_SET_TTL_SEC=0 asks for).
  const none = new ExpiringMap<string, number>(0, 10);
  none.set('a', 1);
  assert.equal(none.get('a'), undefined);
});

import { escapeGlob, type RedisConnection } from './connection.js';
import { unlinkMatching } from './entries.js';

/** SCAN + UNLINK of our prefix only, on every master; never FLUSHDB. Returns how many keys went. */
export async function clearOurKeys(conn: RedisConnection): Promise<number> {
  return conn.safe(async () => unlinkMatching(conn, `${escapeGlob(conn.cfg.keyPrefix)}*`), 0);
}

/** Keys under our prefix, memory used and keys evicted, summed over every master ({} when Redis fails). */
export async function serverStats(conn: RedisConnection): Promise<Record<string, number>> {
  return conn.safe<Record<string, number>>(async () => {
    let keys = 0;
    let usedMemory = 0;
    let evictedKeys = 0;
    for (const node of conn.masters()) {
      const info = await node.info();
      usedMemory += Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
      evictedKeys += Number(/evicted_keys:(\d+)/.exec(info)?.[1] ?? 0);
    }
    await conn.scan(`${escapeGlob(conn.cfg.keyPrefix)}*`, async (_node, page) => void (keys += page.length));
    return { keys, usedMemoryBytes: usedMemory, evictedKeys };
  }, {});
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { buildTestApp, fixture, fid } from './helper.js';

test('closing the app (SIGTERM) lets a conversion under way finish and answers it, then closes the pool', async () => {
  const t = await buildTestApp();
  try {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    t.fake.add(fid('slow'), { data: fixture('sticker_04.tgs') });
    // Close as the download arrives: the request then spends a second or more rendering in the pool.
    let calls = 0;
    const downloading = new Promise<void>((resolve) => (t.fake.onCall = () => ++calls === 2 && resolve()));
    const response = fetch(`http://127.0.0.1:${port}/stickers/${fid('slow')}?format=webp&size=256`);
    await downloading;
    const closed = t.app.close();
    const res = await response;
    assert.equal(res.status, 200);
    const meta = await sharp(Buffer.from(await res.arrayBuffer()), { animated: true }).metadata();
    assert.equal(meta.format, 'webp');
    await closed;
  } finally {
    await t.close();
  }
});

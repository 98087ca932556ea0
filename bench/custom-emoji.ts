import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { Pool } from 'undici';
import { buildTestApp, fid, fixture } from '../test/helper.js';

/**
 * getCustomEmojiStickers calls per 1000 custom emoji requests (each a different id), for clients keeping
 * 1 to 200 requests open, at batching windows of 0, 5 (the default) and 20 ms. The fake Telegram answers
 * after BENCH_TELEGRAM_MS (default 40, a round trip to the Bot API); every emoji is one cached file, so
 * the time measured is the resolving. Env: BENCH_WINDOWS, BENCH_CONCURRENCY.
 */
async function main() {
  const windows = (process.env.BENCH_WINDOWS ?? '0,5,20').split(',').map(Number);
  const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,10,50,200').split(',').map(Number);
  const telegramMs = Number(process.env.BENCH_TELEGRAM_MS ?? 40);
  const requests = 1000;
  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; Telegram answers in ${telegramMs} ms\n`);
  console.log('| CUSTOM_EMOJI_BATCH_MS | open requests | calls per 1000 | ids per call (mean) | median ms | p99 ms | seconds |\n|---|---|---|---|---|---|---|');
  let round = 0;
  for (const batchMs of windows) {
    const t = await buildTestApp({ CUSTOM_EMOJI_BATCH_MS: String(batchMs) });
    try {
      t.fake.add(fid('bench_emoji'), { data: fixture('translucent_96x64_1s.webp') });
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const pool = new Pool(`http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, { connections: Math.max(...concurrencies) });
      await pool.request({ path: '/health', method: 'GET' }).then((r) => r.body.dump());
      for (const open of concurrencies) {
        round++;
        const ids = Array.from({ length: requests }, (_, i) => `${round}${String(i).padStart(6, '0')}`);
        for (const id of ids) t.fake.customEmoji.set(id, { file_id: fid('bench_emoji'), file_unique_id: `e${id}`, type: 'custom_emoji', width: 100, height: 100, is_animated: false, is_video: false, custom_emoji_id: id });
        // The file itself is cached by the first round: only the resolving is measured.
        await pool.request({ path: `/custom-emoji/${ids[0]}`, method: 'GET' }).then((r) => r.body.dump());
        t.fake.resetCounts();
        t.fake.delayMs = telegramMs;
        const latencies: number[] = [];
        let next = 1;
        const started = performance.now();
        await Promise.all(
          Array.from({ length: open }, async () => {
            while (next < ids.length) {
              const id = ids[next++];
              const at = performance.now();
              const res = await pool.request({ path: `/custom-emoji/${id}`, method: 'GET' });
              await res.body.dump();
              if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} for ${id}`);
              latencies.push(performance.now() - at);
            }
          }),
        );
        const seconds = (performance.now() - started) / 1000;
        t.fake.delayMs = 0;
        latencies.sort((a, b) => a - b);
        const calls = t.fake.customEmojiCalls.length;
        const perThousand = (calls * 1000) / (ids.length - 1);
        const mean = t.fake.customEmojiCalls.reduce((n, c) => n + c.length, 0) / calls;
        console.log(`| ${batchMs} | ${open} | ${perThousand.toFixed(0)} | ${mean.toFixed(1)} | ${latencies[latencies.length >> 1].toFixed(1)} | ${latencies[Math.floor(latencies.length * 0.99)].toFixed(1)} | ${seconds.toFixed(2)} |`);
      }
      await pool.close();
    } finally {
      await t.close();
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { FakeTelegram } from './fake-telegram.js';
import { eventually, fid, fixture } from './helper.js';
import { exited, freePort, startService } from './service-process.js';

test('SIGHUP restarts the workers one at a time under load with no failed request; /metrics sums every worker', { timeout: 120_000 }, async () => {
  const fake = await new FakeTelegram().start();
  const metricsPort = await freePort();
  const s = await startService(fake, { METRICS_PORT: String(metricsPort) });
  try {
    fake.add(fid('roll1'), { data: fixture('sticker_05.tgs') });
    const autocannon = (await import('autocannon')).default;
    let finished!: (r: import('autocannon').Result) => void;
    const result$ = new Promise<import('autocannon').Result>((r) => (finished = r));
    const load = autocannon({ url: `${s.base}/stickers/${fid('roll1')}`, connections: 16, duration: 600, headers: { 'accept-encoding': 'gzip' } }, (_err, r) => finished(r));
    await new Promise((r) => load.once('response', r));
    s.child.kill('SIGHUP');
    await s.logs.until((l) => l.msg === 'rolling restart done');
    assert.equal(s.logs.count((l) => l.msg === 'worker listening'), 4, 'two new workers listened');
    load.stop();
    const result = await result$;
    assert.ok(result.requests.total > 100, `${result.requests.total} requests during the restart`);
    assert.equal(result.errors, 0, 'connection errors');
    assert.equal(result.timeouts, 0);
    assert.equal(result.non2xx, 0);

    // The metrics port answers for both workers: requests on fresh connections land on either.
    for (let i = 0; i < 10; i++) await (await request(`${s.base}/formats`, { reset: true })).body.dump();
    const r = await request(`http://127.0.0.1:${metricsPort}/metrics`);
    const text = await r.body.text();
    assert.equal(r.statusCode, 200);
    assert.match(text, /http_requests_total\{method="GET",route="\/formats",status="200"\} 10\b/);
    assert.equal(new Set([...text.matchAll(/nodejs_heap_size_used_bytes\{worker="(\d+)"\}/g)].map((m) => m[1])).size, 2, 'one series per worker');
    const onService = await request(`${s.base}/metrics`);
    await onService.body.dump();
    assert.equal(onService.statusCode, 404, 'not on the public port when METRICS_PORT is set');
  } finally {
    s.child.kill('SIGTERM');
    await exited(s.child);
    await fake.close();
  }
});

test('SIGTERM: the request under way is answered before the service exits 0', { timeout: 60_000 }, async () => {
  const fake = await new FakeTelegram().start();
  const s = await startService(fake);
  try {
    fake.add(fid('term1'), { data: fixture('sticker_05.tgs') });
    let release!: () => void;
    fake.faults.download.push({ kind: 'hold', until: new Promise<void>((r) => (release = r)) });
    const inFlight = request(`${s.base}/stickers/${fid('term1')}`);
    await eventually(() => fake.calls.download === 1);
    s.child.kill('SIGTERM');
    await s.logs.until((l) => l.msg === 'closing', 2);
    release();
    const res = await inFlight;
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    assert.equal(await exited(s.child), 0);
  } finally {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await fake.close();
  }
});

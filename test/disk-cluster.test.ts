import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { FakeTelegram } from './fake-telegram.js';
import { buildTestApp, fid, fixture } from './helper.js';
import { freePort, watchLogs } from './service-process.js';

const mainJs = join(__dirname, '..', 'src', 'main.js');
// A new connection per request, so the primary's round-robin spreads requests over the workers.
const get = async (url: string) => {
  const r = await request(url, { reset: true });
  return { status: r.statusCode, cache: r.headers['x-cache-status'], body: Buffer.from(await r.body.arrayBuffer()) };
};

/** The real service (primary and workers) with the disk tier in dir and no Redis. */
async function service(fake: FakeTelegram, dir: string, workers: number) {
  const port = await freePort();
  const child = spawn(process.execPath, [mainJs], {
    env: { ...process.env, WORKERS: String(workers), SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url, MAX_PROCESS_WORKERS: '1', LOG_LEVEL: 'info', DISK_CACHE_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs = watchLogs(child);
  await logs.until((l) => l.msg === 'worker listening', workers);
  return { child, logs, base: `http://127.0.0.1:${port}` };
}

const stop = (child: ChildProcess) => new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.kill('SIGTERM'))));

test('WORKERS=2 without Redis: one Telegram fetch per sticker for the host, hits on every worker, hits after a restart', { timeout: 120_000 }, async () => {
  const fake = await new FakeTelegram().start();
  const dir = mkdtempSync(join(tmpdir(), 'sp-disk-cluster-'));
  let s = await service(fake, dir, 2);
  try {
    fake.add(fid('dc1'), { data: fixture('sticker_05.tgs') });
    fake.delayMs = 200; // both workers ask while the first fetch is under way
    const all = await Promise.all(Array.from({ length: 50 }, () => get(`${s.base}/stickers/${fid('dc1')}`)));
    fake.delayMs = 0;
    assert.deepEqual([...new Set(all.map((r) => r.status))], [200]);
    assert.deepEqual(fake.calls, { getFile: 1, download: 1 }, 'one getFile and one download for the host');
    const later = await Promise.all(Array.from({ length: 10 }, () => get(`${s.base}/stickers/${fid('dc1')}`)));
    assert.deepEqual([...new Set(later.map((r) => r.cache))], ['HIT']);
    await stop(s.child);
    fake.resetCounts();
    s = await service(fake, dir, 2);
    const afterRestart = await get(`${s.base}/stickers/${fid('dc1')}`);
    assert.equal(afterRestart.cache, 'HIT');
    assert.deepEqual(fake.calls, { getFile: 0, download: 0 });
  } finally {
    await stop(s.child);
    await fake.close();
  }
});

test('a worker killed (SIGKILL) while it writes large variants leaves no entry that is served wrong', { timeout: 180_000 }, async () => {
  const fake = await new FakeTelegram().start();
  const dir = mkdtempSync(join(tmpdir(), 'sp-disk-kill-'));
  fake.add(fid('dk1'), { data: fixture('sticker_02.tgs') });
  const url = (base: string, frame: number) => `${base}/stickers/${fid('dk1')}?format=png&size=1024&frame=${frame}`;
  const frames = Array.from({ length: 24 }, (_, i) => i);
  let s = await service(fake, dir, 1);
  try {
    let done = 0;
    let killed = false;
    const worker = () => Number(execFileSync('ps', ['-o', 'pid=', '--ppid', String(s.child.pid)], { encoding: 'utf8' }).trim().split(/\s+/)[0]);
    const pid = worker();
    await Promise.allSettled(
      frames.map((f) =>
        get(url(s.base, f)).then(() => {
          // Mid-way through the writes: some entries are committed, others are being written.
          if (++done === 6 && !killed) {
            killed = true;
            process.kill(pid, 'SIGKILL');
          }
        }),
      ),
    );
    assert.ok(killed);
    await stop(s.child);
    s = await service(fake, dir, 1);
    // What a fresh conversion makes, with no disk.
    const reference = await buildTestApp({}, fake);
    try {
      let hits = 0;
      for (const f of frames) {
        const served = await get(url(s.base, f));
        const fresh = await reference.app.inject({ url: `/stickers/${fid('dk1')}?format=png&size=1024&frame=${f}` });
        assert.equal(served.status, 200);
        assert.ok(served.body.equals(fresh.rawPayload), `frame ${f} (${served.cache}) differs from a fresh conversion`);
        if (served.cache === 'HIT') hits++;
      }
      assert.ok(hits >= 6, `${hits} entries written before the kill were served from disk`);
    } finally {
      await reference.close();
    }
  } finally {
    await stop(s.child);
    await fake.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { FakeTelegram } from './fake-telegram.js';
import { fixture, fid } from './helper.js';
import { freePort, watchLogs } from './service-process.js';
import { MAX_START_FAILURES, workerExecArgv } from '../src/cluster/primary.js';

const mainJs = join(__dirname, '..', 'src', 'main.js');
// A new connection per request, so the primary's round-robin spreads requests over the workers.
const get = (url: string) => request(url, { reset: true });

test('the cluster serves from every worker, restarts a crashed one, and /cache/stats sums all workers', { timeout: 60_000 }, async () => {
  const fake = await new FakeTelegram().start();
  const port = await freePort();
  const child = spawn(process.execPath, [mainJs], {
    env: { ...process.env, DISK_CACHE_ENABLED: 'false', WORKERS: '2', SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url, MAX_PROCESS_WORKERS: '1', LOG_LEVEL: 'info', ADMIN_TOKEN: 'cluster-admin-token-123' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs = watchLogs(child);
  const base = `http://127.0.0.1:${port}`;
  try {
    const listening = (l: Record<string, unknown>) => l.msg === 'worker listening';
    await logs.until(listening, 2);

    const ids = Array.from({ length: 12 }, (_, i) => fid(`cl${i}`));
    for (const id of ids) fake.add(id, { data: fixture('static_png_RGBA_80x60.png') });
    const pids = new Set<number>();
    for (const id of ids) {
      const res = await get(`${base}/stickers/${id}`);
      assert.equal(res.statusCode, 200);
      await res.body.dump();
    }
    for (let i = 0; i < 4; i++) {
      const h = await get(`${base}/health`);
      pids.add(((await h.body.json()) as { pid: number }).pid);
    }
    assert.equal(pids.size, 2, 'both workers answered');

    const stats = (await (await get(`${base}/cache/stats`)).body.json()) as {
      workers: number;
      memory: { misses: number; items: number };
      processes: Array<{ pid: number; memory: { misses: number } }>;
    };
    assert.equal(stats.workers, 2);
    assert.deepEqual(new Set(stats.processes.map((p) => p.pid)), pids);
    // Each id was fetched once by whichever worker got it: the sum over workers is 12, whoever answered.
    assert.equal(stats.memory.misses, 12);
    assert.equal(stats.processes.reduce((n, p) => n + p.memory.misses, 0), 12);

    // Without Redis, cache admin reaches every worker through the primary.
    const del = await request(`${base}/cache/all`, { method: 'DELETE', reset: true, headers: { authorization: 'Bearer cluster-admin-token-123' } });
    assert.equal(del.statusCode, 200);
    await del.body.dump();
    for (let i = 0; ; i++) {
      const s = (await (await get(`${base}/cache/stats`)).body.json()) as { memory: { items: number }; processes: Array<{ memory: { items: number } }> };
      if (s.memory.items === 0) {
        assert.equal(s.processes.length, 2);
        break;
      }
      assert.ok(i < 100, 'every worker emptied its cache');
      await new Promise((r) => setTimeout(r, 20));
    }

    const victim = [...pids][0];
    process.kill(victim, 'SIGKILL');
    await logs.until((l) => l.workerPid === victim && l.signal === 'SIGKILL' && /restarting/.test(String(l.msg)));
    await logs.until(listening, 3);
    const after = (await (await get(`${base}/cache/stats`)).body.json()) as { workers: number; processes: Array<{ pid: number }> };
    assert.equal(after.workers, 2);
    assert.ok(!after.processes.some((p) => p.pid === victim), 'the killed worker was replaced');
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    await fake.close();
  }
  assert.equal(child.exitCode, 0, 'the primary stops its workers and exits cleanly on SIGTERM');
});

test('SIGTERM to the primary lets a conversion under way in a worker finish and answers it', { timeout: 60_000 }, async () => {
  const fake = await new FakeTelegram().start();
  const port = await freePort();
  const child = spawn(process.execPath, [mainJs], {
    env: { ...process.env, DISK_CACHE_ENABLED: 'false', WORKERS: '1', SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url, MAX_PROCESS_WORKERS: '1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs = watchLogs(child);
  try {
    await logs.until((l) => l.msg === 'worker listening');
    fake.add(fid('deploy'), { data: fixture('sticker_04.tgs') });
    // SIGTERM as the download arrives: the request then spends a second or more in the pool.
    let calls = 0;
    const downloading = new Promise<void>((resolve) => (fake.onCall = () => ++calls === 2 && resolve()));
    const response = get(`http://127.0.0.1:${port}/stickers/${fid('deploy')}?format=webp&size=256`);
    await downloading;
    child.kill('SIGTERM');
    const res = await response;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/webp');
    await res.body.dump();
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await fake.close();
  }
  assert.equal(child.exitCode, 0);
});

/** Runs the service to its exit; resolves with its exit code and output (every stdout line parsed as JSON). */
async function runToExit(env: Record<string, string>, execArgv: string[] = []) {
  const child = spawn(process.execPath, [...execArgv, mainJs], { env: { ...process.env, DISK_CACHE_ENABLED: 'false', SERVER_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, stderr, lines };
}

test('a taken port makes the primary exit 1 with one JSON line naming the cause', { timeout: 60_000 }, async () => {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as { port: number }).port;
  try {
    const r = await runToExit({ WORKERS: '2', SERVER_PORT: String(port), MAX_PROCESS_WORKERS: '1' });
    assert.equal(r.code, 1, 'a supervisor must see a failure');
    assert.equal(r.stderr, '', 'nothing but JSON log lines');
    const fatal = r.lines.filter((l) => l.level === 60);
    assert.equal(fatal.length, 1, 'said once, though both workers failed');
    assert.equal(fatal[0].cause, 'EADDRINUSE');
    assert.match(String(fatal[0].msg), new RegExp(`127\\.0\\.0\\.1:${port}.*already in use`));
    assert.equal(r.lines.filter((l) => /restarting/.test(String(l.msg))).length, 0, 'no restart can free the port');
  } finally {
    holder.close();
  }
});

test('workers that keep dying before they listen make the primary exit 1, naming the last cause', { timeout: 60_000 }, async () => {
  const preload = join(__dirname, '..', '..', 'test', 'fixtures', 'preload', 'worker-missing-module.js');
  const r = await runToExit({ WORKERS: '1', SERVER_PORT: String(await freePort()), MAX_PROCESS_WORKERS: '1' }, ['--require', preload]);
  assert.equal(r.code, 1);
  const fatal = r.lines.filter((l) => l.level === 60);
  assert.equal(fatal.length, 1);
  assert.equal(fatal[0].cause, 'MODULE_NOT_FOUND');
  assert.match(String(fatal[0].msg), new RegExp(`failed ${MAX_START_FAILURES} times in a row before listening.*Cannot find module 'undici`));
  assert.equal(r.lines.filter((l) => /restarting/.test(String(l.msg))).length, MAX_START_FAILURES - 1, 'restarted until the limit');
});

test('workers get a small young generation unless the operator chose one', () => {
  assert.deepEqual(workerExecArgv([]), ['--max-semi-space-size=4']);
  assert.deepEqual(workerExecArgv(['--enable-source-maps']), ['--enable-source-maps', '--max-semi-space-size=4']);
  assert.deepEqual(workerExecArgv([], '--max-semi-space-size=16'), []);
  assert.deepEqual(workerExecArgv(['--max-semi-space-size=8']), ['--max-semi-space-size=8']);
});

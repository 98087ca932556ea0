import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, readEnvironment, settingNames } from '../src/config.js';
import { readFileSync } from 'node:fs';

const mainJs = join(__dirname, '..', 'src', 'main.js');

test('defaults match the old service', () => {
  const c = loadConfig({});
  assert.equal(c.server.port, 8081);
  assert.equal(c.server.host, '0.0.0.0');
  assert.equal(c.telegram.apiBaseUrl, 'https://api.telegram.org');
  assert.equal(c.telegram.downloadBaseUrl, 'https://api.telegram.org/file/bot');
  assert.equal(c.limits.maxFileBytes, 20 * 1024 * 1024);
  assert.equal(c.cache.ttlSeconds, 7 * 86400);
  assert.equal(c.telegram.botToken, undefined);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.telegram));
});

test('the download base follows a custom API base, and old-style level names are accepted', () => {
  const c = loadConfig({ TELEGRAM_API_BASE_URL: 'http://127.0.0.1:9000/', LOG_LEVEL: 'WARNING', BASE_RETRY_DELAY: '0.5', WORKERS: '3' });
  assert.equal(c.telegram.downloadBaseUrl, 'http://127.0.0.1:9000/file/bot');
  assert.equal(c.server.logLevel, 'warn');
  assert.equal(c.telegram.baseRetryDelayMs, 500);
  assert.equal(c.server.workers, 3);
});

test('a bad value names the variable and what was expected', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ SERVER_PORT: 'abc' }, /^Invalid configuration: SERVER_PORT="abc": expected a number$/],
    [{ SERVER_PORT: '70000' }, /SERVER_PORT="70000": expected a number <= 65535/],
    [{ WORKERS: '0' }, /WORKERS="0": expected a number >= 1/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL="loud": expected one of trace, debug/],
    [{ TELEGRAM_API_BASE_URL: 'ftp://x' }, /TELEGRAM_API_BASE_URL="ftp:\/\/x": expected a URL with an allowed scheme/],
    [{ MAX_FILE_SIZE_MB: '-1' }, /MAX_FILE_SIZE_MB/],
    [{ REDIS_CLUSTER_NODES: 'a:1,b' }, /REDIS_CLUSTER_NODES="a:1,b": expected host:port/],
    [{ ADMIN_TOKEN: 'short' }, /^Invalid configuration: ADMIN_TOKEN=<hidden>: expected at least 16 characters$/],
    [{ REDIS_URL: 'http://user:pw@h' }, /^Invalid configuration: REDIS_URL=<hidden>: expected a URL/],
    [{ RATE_LIMIT_ENABLED: 'maybe' }, /RATE_LIMIT_ENABLED="maybe": expected one of .*true, false/],
  ];
  for (const [env, re] of cases) {
    assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'));
  }
});

test('.env is read, and the real environment wins over it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-env-'));
  writeFileSync(join(dir, '.env'), 'SERVER_PORT=9999\nCACHE_TTL_DAYS=3\n');
  process.env.CACHE_TTL_DAYS = '5';
  try {
    const c = loadConfig(readEnvironment(dir));
    assert.equal(c.server.port, 9999);
    assert.equal(c.cache.ttlSeconds, 5 * 86400);
  } finally {
    delete process.env.CACHE_TTL_DAYS;
  }
});

test('the service refuses to start on a bad value, with one line on stderr', () => {
  const r = spawnSync(process.execPath, [mainJs], { env: { ...process.env, DISK_CACHE_ENABLED: 'false', SERVER_PORT: 'eighty' }, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /SERVER_PORT="eighty"/);
});

test('RENDERER=lottie-web without node-canvas stops start-up with a message naming the packages to install', () => {
  const preload = join(__dirname, '..', '..', 'test', 'fixtures', 'preload', 'no-canvas.js');
  const r = spawnSync(process.execPath, ['--require', preload, mainJs], { env: { ...process.env, DISK_CACHE_ENABLED: 'false', RENDERER: 'lottie-web', SERVER_PORT: '0', WORKERS: '2' }, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1);
  // Said once, by the primary, as a JSON log line (both workers found it).
  const fatal = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; cause?: string }).filter((l) => l.level === 60);
  assert.equal(fatal.length, 1);
  assert.equal(fatal[0].cause, 'RENDERER_UNAVAILABLE');
  assert.match(fatal[0].msg, /RENDERER=lottie-web needs the optional package "canvas"/);
  assert.match(fatal[0].msg, /libcairo2-dev libpango1\.0-dev libjpeg-dev libgif-dev librsvg2-dev/);
});

test('config.env.example and the README document every setting, and the example parses', () => {
  const repo = join(__dirname, '..', '..');
  const example = readFileSync(join(repo, 'config.env.example'), 'utf8');
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  for (const name of settingNames) {
    assert.match(example, new RegExp(`^${name}=`, 'm'), `${name} missing from config.env.example`);
    assert.match(readme, new RegExp(`\\| \`${name}\` \\|`), `${name} missing from the README's settings table`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sp-example-'));
  writeFileSync(join(dir, '.env'), example);
  assert.doesNotThrow(() => loadConfig(readEnvironment(dir)));
});

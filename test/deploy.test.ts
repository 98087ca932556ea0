import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, settingNames } from '../src/config.js';

const repo = join(__dirname, '..', '..');
const composeMissing = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status !== 0 && 'docker-compose is not installed (apt-get install docker-compose)';
/** Values docker-compose.yml fixes for the container, whatever the env file says. */
const FIXED_BY_COMPOSE = new Set(['SERVER_HOST', 'SERVER_PORT', 'DISK_CACHE_DIR', 'TRUST_PROXY']);

/** The sticker-processor service of `docker-compose config` run on a copy of docker-compose.yml with the given .env. */
function resolvedService(dotenv: string): { environment: Map<string, string>; stopGraceSec: number } {
  const dir = mkdtempSync(join(tmpdir(), 'sp-compose-'));
  copyFileSync(join(repo, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
  writeFileSync(join(dir, '.env'), dotenv);
  const env = { ...process.env };
  for (const name of settingNames) delete env[name];
  const r = spawnSync('docker-compose', ['-f', join(dir, 'docker-compose.yml'), 'config'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  // The service block ends at the next line indented as little as its name.
  const lines = r.stdout.split('\n');
  const start = lines.indexOf('  sticker-processor:');
  assert.ok(start >= 0, 'the sticker-processor service');
  const end = lines.findIndex((l, i) => i > start && /^ {0,2}\S/.test(l));
  const block = lines.slice(start + 1, end < 0 ? undefined : end);
  const environment = new Map<string, string>();
  let inEnv = false;
  let stopGraceSec = NaN;
  for (const l of block) {
    if (/^ {4}\S/.test(l)) inEnv = l === '    environment:';
    const grace = /^ {4}stop_grace_period: (\d+)s$/.exec(l);
    if (grace) stopGraceSec = Number(grace[1]);
    const kv = /^ {6}([A-Z_]+): (.*)$/.exec(l);
    if (inEnv && kv) environment.set(kv[1], kv[2].replace(/^(['"])(.*)\1$/, '$2'));
  }
  return { environment, stopGraceSec };
}

test('docker-compose passes every setting of the env file to the service', { skip: composeMissing }, () => {
  // Each setting written only in .env, with a value that names it.
  const dotenv = settingNames.map((n) => `${n}=set-in-env-file-${n}`).join('\n');
  const { environment } = resolvedService(dotenv);
  for (const name of settingNames) {
    if (FIXED_BY_COMPOSE.has(name)) continue;
    assert.equal(environment.get(name), `set-in-env-file-${name}`, `${name} written in .env reaches the container`);
  }
  assert.equal(environment.get('SERVER_PORT'), '8081', 'the port the image exposes');
});

test('docker-compose with the documented .env (a copy of config.env.example) points the service at its Redis', { skip: composeMissing }, () => {
  const { environment } = resolvedService(readExample());
  assert.equal(environment.get('REDIS_HOST'), 'redis');
  assert.equal(environment.get('UPLOAD_ENABLED'), 'true');
});

test('docker-compose gives a stopping container longer than the longest request deadline', { skip: composeMissing }, () => {
  const { stopGraceSec } = resolvedService(readExample());
  const { limits } = loadConfig({});
  assert.ok(stopGraceSec * 1000 > Math.max(limits.endpointTimeoutMs, limits.conversionTimeoutMs), `stop_grace_period ${stopGraceSec}s`);
});

function readExample(): string {
  return readFileSync(join(repo, 'config.env.example'), 'utf8');
}

test('docker-compose puts nginx in front: the proxy mounts the files in deploy/nginx and publishes the old port; replicas publish none', { skip: composeMissing }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-compose-'));
  copyFileSync(join(repo, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
  writeFileSync(join(dir, '.env'), readExample());
  symlinkSync(join(repo, 'deploy'), join(dir, 'deploy'));
  const env = { ...process.env };
  for (const name of [...settingNames, 'PUBLISH_PORT']) delete env[name];
  const r = spawnSync('docker-compose', ['-f', join(dir, 'docker-compose.yml'), 'config'], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  const parsed = (require('yaml') as typeof import('yaml')).parse(r.stdout) as {
    services: Record<string, { volumes?: string[]; ports?: Array<{ published: number; target: number }>; environment?: Record<string, string> }>;
  };
  const { proxy, 'sticker-processor': service } = parsed.services;
  const mounts = proxy.volumes!.map((v) => v.split(':'));
  for (const [source, target] of mounts) assert.ok(existsSync(source), `${source} (mounted at ${target}) exists`);
  assert.deepEqual(mounts.map((m) => m[1]).sort(), ['/etc/nginx/nginx.conf', '/etc/nginx/sticker-processor/proxy.conf']);
  assert.match(readFileSync(join(repo, 'deploy/nginx/nginx.conf'), 'utf8'), /include \/etc\/nginx\/sticker-processor\/proxy\.conf;/);
  assert.deepEqual(proxy.ports, [{ published: 8081, target: 8080 }]);
  assert.equal(service.ports, undefined, 'replicas are reached through the proxy only');
  assert.equal(service.environment!.TRUST_PROXY, 'true');
});

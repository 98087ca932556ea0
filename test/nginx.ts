import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';

const deploy = join(__dirname, '..', '..', 'deploy', 'nginx');

/** Debian installs it in /usr/sbin, which a user's PATH may not hold. */
const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
export const nginxMissing: string | undefined =
  spawnSync(NGINX, ['-v'], { stdio: 'ignore' }).error !== undefined ? 'nginx is not installed (apt-get install nginx-light)' : undefined;

/**
 * Debian's nginx running deploy/nginx/nginx.conf (the docker-compose proxy) on loopback: the upstream line
 * names the given ports instead of the compose service, and pid, logs and temp files go to a directory of
 * its own. proxy.conf is included unchanged.
 */
export class NginxProxy {
  readonly dir = mkdtempSync(join(tmpdir(), 'sp-nginx-'));
  #child: ChildProcess | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(upstreamPorts: number[]): Promise<this> {
    this.port = await freePort();
    // Workers drop to nobody when nginx starts as root: they must be able to write request bodies here.
    chmodSync(this.dir, 0o755);
    const temp = join(this.dir, 'temp');
    mkdirSync(temp, { mode: 0o777 });
    chmodSync(temp, 0o777);
    const conf = readFileSync(join(deploy, 'nginx.conf'), 'utf8')
      .replace(/^( *)server sticker-processor:8081;$/m, (_l, indent: string) => upstreamPorts.map((p) => `${indent}server 127.0.0.1:${p};`).join('\n'))
      .replace(/listen 8080;/, `listen 127.0.0.1:${this.port};`)
      .replace('/etc/nginx/sticker-processor/proxy.conf', join(deploy, 'proxy.conf'))
      .replace(/^worker_processes auto;$/m, 'worker_processes 1;')
      .replace(
        /^http \{$/m,
        `http {\n    client_body_temp_path ${temp}/body;\n    proxy_temp_path ${temp}/proxy;\n    fastcgi_temp_path ${temp}/fastcgi;\n    uwsgi_temp_path ${temp}/uwsgi;\n    scgi_temp_path ${temp}/scgi;`,
      );
    if (!conf.includes(`127.0.0.1:${upstreamPorts[0]}`)) throw new Error('deploy/nginx/nginx.conf no longer has the upstream line this harness replaces');
    const file = join(this.dir, 'nginx.conf');
    writeFileSync(file, `daemon off;\npid ${join(this.dir, 'nginx.pid')};\nerror_log ${join(this.dir, 'error.log')} warn;\n${conf}`);
    const check = spawnSync(NGINX, ['-t', '-q', '-p', this.dir, '-e', join(this.dir, 'error.log'), '-c', file], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`nginx -t: ${check.stderr}`);
    this.#child = spawn(NGINX, ['-p', this.dir, '-e', join(this.dir, 'error.log'), '-c', file], { stdio: ['ignore', 'ignore', 'inherit'] });
    await this.#listening();
    return this;
  }

  /** nginx says nothing when it is ready; its port accepting a connection is the event. */
  async #listening(): Promise<void> {
    for (;;) {
      if (this.#child!.exitCode !== null) throw new Error(`nginx exited with ${this.#child!.exitCode}`);
      const up = await new Promise<boolean>((resolve) => {
        const s = connect(this.port, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGQUIT');
    await exited;
  }
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why Redis-backed tests cannot run here, or undefined when redis-server is on PATH. */
export const redisMissing: string | undefined =
  spawnSync('redis-server', ['--version']).status === 0 ? undefined : 'redis-server is not installed (apt-get install redis-server); skipping Redis tests';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A real redis-server on a free loopback port, with no persistence; stop() and start() keep the port. */
export class RedisServer {
  #child: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'sp-redis-'));
  constructor(
    readonly port: number,
    readonly extraArgs: string[] = [],
  ) {}

  static async start(extraArgs: string[] = []): Promise<RedisServer> {
    const s = new RedisServer(await freePort(), extraArgs);
    await s.start();
    return s;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, ...this.extraArgs], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
  }

  /** Freezes the server (SIGSTOP): connections stay open, commands get no answer until resume(). */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  cli(...args: string[]): string {
    return spawnSync('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8' }).stdout.trim();
  }
}

/** Three redis-server masters on loopback joined into one Redis Cluster (no replicas). */
export class RedisClusterServers {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(): Promise<RedisClusterServers> {
    const nodes: RedisServer[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const s = new RedisServer(port, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000']);
      await s.start();
      nodes.push(s);
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    const c = new RedisClusterServers(nodes);
    // The slots are assigned at once, but every node must agree before the cluster answers.
    for (let i = 0; i < 200 && !nodes.every((n) => n.cli('CLUSTER', 'INFO').includes('cluster_state:ok')); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return c;
  }

  get nodeList(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * The ceiling of this machine: a bare node:http cluster answering the same sticker bytes from memory,
 * with no routing, validation or headers beyond the essentials. Usage: node bare-server.js <port> <workers> <tgs files...>
 */
const [portArg, workersArg, ...files] = process.argv.slice(2);
const port = Number(portArg);
const workers = Number(workersArg);

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  // Paths are /stickers/<index>, the same shape the benchmark asks the service for.
  const bodies = files.map((f) => {
    const gzip = readFileSync(f);
    return { gzip, plain: gunzipSync(gzip) };
  });
  createServer((req, res) => {
    const i = Number(req.url!.slice(req.url!.lastIndexOf('/') + 1).replace(/\D/g, '')) % bodies.length || 0;
    const b = bodies[i];
    if ((req.headers['accept-encoding'] ?? '').includes('gzip')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': b.gzip.length });
      res.end(b.gzip);
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': b.plain.length });
      res.end(b.plain);
    }
  }).listen(port, '127.0.0.1', Number(process.env.BACKLOG ?? 4096));
}

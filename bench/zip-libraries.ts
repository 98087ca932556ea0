import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cpus, tmpdir, totalmem } from 'node:os';

/**
 * The ZIP writers an archive could use, on the same entries: 120 stored entries (real WebP stickers from
 * the corpus, repeated) into a sink that discards them, as the archive route writes them. Time (median of
 * five), the heap and external memory grown, and whether an emoji entry name survives. yazl is the service's; archiver and zip-stream are not
 * installed with it: `npm i --no-save archiver zip-stream` first (BENCH_LIBS picks which to run).
 */
type Writer = (entries: Array<{ name: string; data: Buffer }>, sink: Writable) => Promise<void>;

const writers: Record<string, () => Writer> = {
  yazl: () => {
    const { ZipFile } = require('yazl') as typeof import('yazl');
    return async (entries, sink) => {
      const zip = new ZipFile();
      for (const e of entries) zip.addBuffer(e.data, e.name, { compress: false });
      zip.end();
      await pipeline(zip.outputStream, sink);
    };
  },
  archiver: () => {
    // archiver 8: an ES module whose zip writer is the ZipArchive class.
    const { ZipArchive } = require('archiver') as { ZipArchive: new (o: object) => NodeJS.ReadWriteStream & { append(d: Buffer, o: object): void; finalize(): Promise<void> } };
    return async (entries, sink) => {
      const zip = new ZipArchive({ store: true });
      const done = pipeline(zip, sink);
      for (const e of entries) zip.append(e.data, { name: e.name });
      await zip.finalize();
      await done;
    };
  },
  'zip-stream': () => {
    const ZipStream = (require('zip-stream') as { default: new (o: object) => NodeJS.ReadWriteStream & { entry(d: Buffer, o: object, cb: (err?: Error) => void): void; finalize(): void } }).default;
    return async (entries, sink) => {
      const zip = new ZipStream({ store: true });
      const done = pipeline(zip, sink);
      for (const e of entries) await new Promise<void>((resolve, reject) => zip.entry(e.data, { name: e.name }, (err) => (err ? reject(err) : resolve())));
      zip.finalize();
      await done;
    };
  },
};

/** Whether an entry named with an emoji (as archive entries are) comes back from Info-ZIP's unzip as written. */
async function namesRoundTrip(write: Writer): Promise<string> {
  const chunks: Buffer[] = [];
  await write([{ name: '0_😀.webp', data: Buffer.from('x') }], new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) }));
  const file = join(mkdtempSync(join(tmpdir(), 'sp-zipname-')), 'a.zip');
  writeFileSync(file, Buffer.concat(chunks));
  const name = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).trim();
  return name === '0_😀.webp' ? 'yes' : `no (${JSON.stringify(name)})`;
}

async function main() {
  const dir = join(__dirname, '..', '..', 'test', 'fixtures');
  const webp = readdirSync(dir).filter((f) => f.endsWith('.webp')).map((f) => readFileSync(join(dir, f)));
  // Stickers of about a megabyte, as a 256 px animated WebP archive holds: the fixtures repeated to size.
  const sticker = Buffer.concat(Array.from({ length: Math.ceil(1_150_000 / webp.reduce((n, b) => n + b.length, 0)) }, () => webp).flat());
  const entries = Array.from({ length: 120 }, (_, i) => ({ name: `${i}_x.webp`, data: sticker }));
  console.log(`Machine: ${cpus().length} cores (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; 120 stored entries of ${sticker.length} bytes\n`);
  console.log('| library | median ms | MB/s | heap + external grown, MB | an emoji name read back by unzip |\n|---|---|---|---|---|');
  for (const name of (process.env.BENCH_LIBS ?? Object.keys(writers).join(',')).split(',')) {
    let write: Writer;
    try {
      write = writers[name]();
    } catch {
      console.log(`| ${name} | not installed | | |`);
      continue;
    }
    const times: number[] = [];
    let grown = 0;
    for (let run = 0; run < 5; run++) {
      global.gc?.();
      const before = process.memoryUsage();
      let peak = 0;
      const sink = new Writable({
        write(_chunk, _enc, done) {
          const m = process.memoryUsage();
          peak = Math.max(peak, m.heapUsed + m.external - before.heapUsed - before.external);
          done();
        },
      });
      const started = performance.now();
      await write(entries, sink);
      times.push(performance.now() - started);
      grown = Math.max(grown, peak);
    }
    times.sort((a, b) => a - b);
    const ms = times[2];
    console.log(`| ${name} | ${ms.toFixed(0)} | ${((entries.length * sticker.length) / 1e6 / (ms / 1000)).toFixed(0)} | ${(grown / 1e6).toFixed(1)} | ${await namesRoundTrip(write)} |`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

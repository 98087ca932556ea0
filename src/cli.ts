#!/usr/bin/env node
import { availableParallelism } from 'node:os';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Converter } from './convert/converter.js';
import { poolOptions, ThreadPool } from './convert/pool.js';
import { loadCanvas } from './convert/render/lottie-web.js';
import { AppError } from './errors.js';
import { ConfigError, loadConfig, readEnvironment, RENDERERS, type Config, type RendererName } from './config.js';
import { checkCustomPresets, parseRequestQuery, resolveVariant } from './sticker/variant.js';
import { VideoConverter } from './convert/video.js';
import { signedUrl } from './url-signing.js';
import { extensionFor } from './formats.js';

const USAGE = `Usage:
  sticker-processor                       run the service (same as npm start)
  sticker-processor convert <file|dir> [--format lottie|original|png|webp|gif|apng|webm|mp4] [--size N] [--frame N]
                            [--fps N] [--quality N] [--background rrggbb] [--gif-alpha dither|threshold]
                            [--preset telegram|telegram_emoji|whatsapp|signal] [--renderer dotlottie|lottie-web]
                            [-o <file|dir>]
  sticker-processor sign <path?query>    print the URL signed with URL_SIGNING_KEY's first key (signed URLs)

Converts sticker files (TGS, Lottie JSON, WebP, WebM, PNG, JPEG, GIF) with the service's engine; needs no Telegram and no Redis.
A directory is converted file by file into the -o directory (default: <dir>-converted), with progress on stderr.`;


function isRenderer(name: string): name is RendererName {
  return (RENDERERS as readonly string[]).includes(name);
}

/** Exit code: 0 when every file converted, 1 when any failed, 2 for bad usage. */
export async function convertCommand(argv: string[], out: NodeJS.WriteStream = process.stderr): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        size: { type: 'string' },
        frame: { type: 'string' },
        fps: { type: 'string' },
        quality: { type: 'string' },
        background: { type: 'string' },
        'gif-alpha': { type: 'string' },
        preset: { type: 'string' },
        output: { type: 'string', short: 'o' },
        renderer: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    out.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length !== 1) {
    out.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  // The service's settings (environment or .env) are the CLI's limits too: one source of defaults.
  let config: Config;
  try {
    config = loadConfig(readEnvironment());
    checkCustomPresets(config.customPresets, config.limits.maxOutputSize);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out.write(`${err.message}\n`);
    return 2;
  }
  const { output, help: _help, renderer = config.pool.renderer, 'gif-alpha': gifAlpha, ...options } = values;
  const query = { ...options, ...(gifAlpha !== undefined && { gif_alpha: gifAlpha }) };
  if (!isRenderer(renderer)) {
    out.write(`--renderer must be ${RENDERERS.join(' or ')}\n`);
    return 2;
  }
  if (renderer === 'lottie-web') {
    const canvas = loadCanvas();
    if (canvas instanceof Error) {
      out.write(`${canvas.message}\n`);
      return 2;
    }
  }
  let q;
  try {
    q = parseRequestQuery(query, config.customPresets, config.limits.maxOutputSize);
  } catch (err) {
    out.write(`${(err as Error).message}\n`);
    return 2;
  }
  const input = positionals[0];
  let isDir: boolean;
  try {
    isDir = statSync(input).isDirectory();
  } catch {
    out.write(`No such file or directory: ${input}\n`);
    return 2;
  }
  const files = isDir ? readdirSync(input).filter((f) => statSync(join(input, f)).isFile()).sort().map((f) => join(input, f)) : [input];
  const outDir = isDir ? (output ?? `${input.replace(/\/+$/, '')}-converted`) : undefined;
  if (outDir) mkdirSync(outDir, { recursive: true });

  const { limits } = config;
  // Every core converts, and every file is queued at once (the threads take them in turn).
  const pool = new ThreadPool({ ...poolOptions(config), threads: availableParallelism(), queueMax: files.length, renderer });
  const converter = new Converter(pool, new VideoConverter(limits.ffmpegPath));
  let failed = 0;
  let done = 0;
  const progress = () => {
    if (!isDir) return;
    const width = 30;
    const filled = Math.round((done / files.length) * width);
    out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${files.length}${failed ? `, ${failed} failed` : ''}`);
  };
  try {
    // Files go to the pool together; its threads take them in turn.
    await Promise.all(
      files.map(async (file) => {
        try {
          const stored = await converter.stored(readFileSync(file), basename(file), true);
          const spec = resolveVariant(q, stored, limits.maxOutputSize);
          const result = spec.kind === 'as-stored' ? stored : await converter.convert(stored, spec);
          const ext = extensionFor(result.output);
          const target = outDir ? join(outDir, `${basename(file, extname(file))}.${ext}`) : (output ?? `${file.slice(0, file.length - extname(file).length)}.${ext}`);
          writeFileSync(target, result.plain ?? result.gzip!);
          const fit = result.preset ? `, ${result.preset.name} preset ${result.preset.fit}: ${[result.preset.quality && `quality ${result.preset.quality}`, result.preset.fps && `${result.preset.fps} fps`, `${result.preset.size} px`].filter(Boolean).join(', ')}` : '';
          if (!isDir) out.write(`${file} -> ${target} (${result.output}, ${(result.plain ?? result.gzip!).length} bytes${fit})\n`);
        } catch (err) {
          failed++;
          const why = err instanceof AppError ? err.message : `unexpected error: ${(err as Error).message}`;
          out.write(`${isDir ? '\n' : ''}${file}: ${why}\n`);
        } finally {
          done++;
          progress();
        }
      }),
    );
  } finally {
    await pool.close();
  }
  if (isDir) out.write(`\n${files.length - failed} converted into ${outDir}${failed ? `, ${failed} failed` : ''}\n`);
  return failed > 0 ? 1 : 0;
}

/** Prints a signed path and query for a sticker URL; exit code 2 for bad usage or no key. */
export function signCommand(argv: string[], out: NodeJS.WriteStream = process.stdout, err: NodeJS.WriteStream = process.stderr): number {
  if (argv.length !== 1 || !argv[0].startsWith('/')) {
    err.write(`sign takes one path with its query, e.g. sticker-processor sign '/stickers/<file_id>?format=webp&size=256'\n`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig(readEnvironment());
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err.write(`${e.message}\n`);
    return 2;
  }
  const key = config.access.signingKeys?.[0];
  if (!key) {
    err.write('URL_SIGNING_KEY is not set (in the environment or .env)\n');
    return 2;
  }
  out.write(`${signedUrl(Buffer.from(key), argv[0])}\n`);
  return 0;
}

if (require.main === module) {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'convert') {
    convertCommand(rest).then((code) => process.exit(code));
  } else if (command === 'sign') {
    process.exit(signCommand(rest));
  } else if (command === undefined || command === 'serve') {
    require('./main.js');
  } else {
    process.stderr.write(`Unknown command: ${command}\n${USAGE}\n`);
    process.exit(2);
  }
}

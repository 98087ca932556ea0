import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const src = join(__dirname, '..', '..', 'src');

/** Every source file (relative to src/) with the modules of ours it imports (relative to src/, no extension). */
function imports(): Map<string, string[]> {
  const files = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
  const out = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(src, file), 'utf8');
    const targets = [...text.matchAll(/(?:from |require\()'(\.{1,2}\/[^']+)'/g)].map((m) => normalize(join(dirname(file), m[1])).replace(/\.js$/, ''));
    out.set(file.replace(/\.ts$/, ''), targets);
  }
  return out;
}

const top = (module: string) => module.split('/')[0];
const EDGES = new Set(['sticker', 'routes', 'app', 'parts', 'error-handler', 'server', 'cluster', 'main', 'cli', 'bus', 'stats']);
const BOTTOM = new Set(['config', 'settings', 'errors', 'limits', 'formats', 'model']);

test('parts (telegram, cache, redis, disk, convert) and the model never import the pipeline or the edges', () => {
  const wrong: string[] = [];
  for (const [file, targets] of imports()) {
    if (!['telegram', 'cache', 'redis', 'disk', 'convert', 'model'].includes(top(file))) continue;
    for (const t of targets) if (EDGES.has(top(t))) wrong.push(`${file} -> ${t}`);
  }
  assert.deepEqual(wrong, []);
});

test('the model imports only the bottom layer', () => {
  const wrong: string[] = [];
  for (const [file, targets] of imports()) {
    if (top(file) !== 'model') continue;
    for (const t of targets) if (!BOTTOM.has(top(t))) wrong.push(`${file} -> ${t}`);
  }
  assert.deepEqual(wrong, []);
});

test('no import loop between folders', () => {
  const graph = new Map<string, Set<string>>();
  for (const [file, targets] of imports()) {
    for (const t of targets) {
      if (top(t) === top(file)) continue;
      if (!graph.has(top(file))) graph.set(top(file), new Set());
      graph.get(top(file))!.add(top(t));
    }
  }
  // A loop is a folder that can reach itself.
  for (const start of graph.keys()) {
    const seen = new Set<string>();
    const stack = [...(graph.get(start) ?? [])];
    while (stack.length) {
      const n = stack.pop()!;
      assert.notEqual(n, start, `folder ${start} imports something that imports it back`);
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(graph.get(n) ?? []));
    }
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errors, statusText } from '../src/errors.js';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

/** The rows of README's "Error codes" table: code -> status. */
function documentedCodes(): Map<string, number> {
  const section = readme.slice(readme.indexOf('### Error codes'), readme.indexOf('\n## ', readme.indexOf('### Error codes')));
  assert.ok(section.length > 20, 'README has an "Error codes" section');
  const rows = new Map<string, number>();
  for (const m of section.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)) rows.set(m[1], Number(m[2]));
  return rows;
}

test('every error code of the catalogue is in README with its status, and README lists no other', () => {
  const documented = documentedCodes();
  const catalogue = new Map(Object.values(errors).map((make) => [make.code, make.status]));
  assert.deepEqual([...documented.keys()].sort(), [...catalogue.keys()].sort());
  for (const [code, status] of catalogue) assert.equal(documented.get(code), status, code);
});

test('each code is made by one entry of the catalogue, with a status the handler can name', () => {
  const codes = Object.values(errors).map((make) => make.code);
  assert.equal(new Set(codes).size, codes.length, 'no code is used twice');
  for (const make of Object.values(errors)) assert.ok(statusText[make.status], `${make.code}: status ${make.status} has a text`);
});

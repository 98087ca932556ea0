import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildTestApp } from '../test/helper.js';
import { fixtures } from './lib.js';

/**
 * The README's pictures of GIF transparency: the service's own GIFs of a translucent test animation (one
 * per gif_alpha choice, and one on a background), first frame, each laid on a light and a dark page side
 * by side, written to docs/.
 */
async function main() {
  const root = join(__dirname, '..', '..');
  const source = readFileSync(join(fixtures, 'translucent_96x64_1s.webp'));
  const t = await buildTestApp();
  mkdirSync(join(root, 'docs'), { recursive: true });
  try {
    for (const [name, query] of [
      ['dither', 'format=gif&size=192'],
      ['threshold', 'format=gif&size=192&gif_alpha=threshold'],
      ['background', 'format=gif&size=192&background=ffffff'],
    ]) {
      const res = await t.app.inject({ method: 'POST', url: `/convert?${query}`, payload: source, headers: { 'content-type': 'application/octet-stream' } });
      if (res.statusCode !== 200) throw new Error(`${query}: ${res.payload}`);
      const frame = await sharp(res.rawPayload, { page: 0 }).png().toBuffer();
      const { width = 0, height = 0 } = await sharp(frame).metadata();
      const pad = 12;
      const page = (colour: string) => sharp({ create: { width: width + 2 * pad, height: height + 2 * pad, channels: 4, background: colour } }).composite([{ input: frame, left: pad, top: pad }]).png().toBuffer();
      const [light, dark] = await Promise.all([page('#f4f4f4'), page('#202124')]);
      await sharp({ create: { width: 2 * (width + 2 * pad), height: height + 2 * pad, channels: 4, background: '#ffffff' } })
        .composite([{ input: light, left: 0, top: 0 }, { input: dark, left: width + 2 * pad, top: 0 }])
        .png()
        .toFile(join(root, 'docs', `gif-alpha-${name}.png`));
      console.log(`docs/gif-alpha-${name}.png: ${query}, ${res.rawPayload.length} bytes`);
    }
  } finally {
    await t.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

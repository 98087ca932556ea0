import { promisify } from 'node:util';
import { deflate } from 'node:zlib';
import sharp from 'sharp';
import { encodeChanges, type Rect } from './frame-diff.js';
import type { Frames } from './frames.js';
import { rgbaIndexer } from './palette.js';
import { chunk, PNG_SIGNATURE, pngChunks } from '../png-chunks.js';

const deflateAsync = promisify(deflate);

// zlib level for each rectangle, as for single PNGs: lossless either way; level 3 was ~20 % faster and
// gave files ~10 % larger (BENCHMARKS.md). No row filter: it suits flat sticker art (as for PNG).
const COMPRESSION_LEVEL = 6;

/**
 * A minimal APNG writer: RGBA, 8 bits, or with a palette (RGBA entries) shared by every frame, indices of
 * 8 bits (lossy: what makes busy stickers fit Signal's 300 KB); looping forever. After the first, each frame is only the rectangle
 * that changed (replacing what is under it, nothing disposed), and a frame equal to the one before just
 * lengthens it, as in the WebP encoder. Each rectangle is encoded as a PNG by libvips (sharp) on libuv's
 * threads, so compression uses both cores while this thread renders; its image data (the IDAT chunks, one
 * zlib stream) becomes the frame's IDAT or fdAT.
 */
export async function encodeApng(frames: Frames, width: number, height: number, palette?: number[][]): Promise<{ data: Uint8Array; frames: number }> {
  // The count in acTL and the delays (which grow while frames repeat) are known at the end, so the chunks
  // are written then.
  const index = palette && rgbaIndexer(palette);
  const kept = await encodeChanges(frames, width, height, index ? (rgba, r) => indexedData(index(rgba), r) : imageData);
  const parts: Uint8Array[] = [PNG_SIGNATURE];
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, palette ? 3 : 6, 0, 0, 0], 8); // 8-bit indices or RGBA, deflate, adaptive filtering, no interlace
  parts.push(chunk('IHDR', ihdr));
  if (palette) {
    parts.push(chunk('PLTE', new Uint8Array(palette.flatMap((c) => [c[0], c[1], c[2]]))));
    parts.push(chunk('tRNS', new Uint8Array(palette.map((c) => c[3]))));
  }
  const actl = new Uint8Array(8);
  new DataView(actl.buffer).setUint32(0, kept.length); // num_plays 0 = forever
  parts.push(chunk('acTL', actl));
  let seq = 0;
  kept.forEach(({ rect, delayMs: delay, encoded: data }, i) => {
    const fctl = new Uint8Array(26);
    const f = new DataView(fctl.buffer);
    f.setUint32(0, seq++);
    f.setUint32(4, rect.width);
    f.setUint32(8, rect.height);
    f.setUint32(12, rect.x);
    f.setUint32(16, rect.y);
    // delay_num / delay_den: milliseconds; a longer merged delay is written in hundredths of a second.
    const ms = delay <= 0xffff;
    f.setUint16(20, ms ? delay : Math.min(0xffff, Math.round(delay / 10)));
    f.setUint16(22, ms ? 1000 : 100);
    fctl[24] = 0; // dispose: none (the next rectangle replaces what changed)
    fctl[25] = 0; // blend: source (replace, alpha included)
    parts.push(chunk('fcTL', fctl));
    if (i === 0) parts.push(chunk('IDAT', data));
    else {
      const fdat = new Uint8Array(4 + data.length);
      new DataView(fdat.buffer).setUint32(0, seq++);
      fdat.set(data, 4);
      parts.push(chunk('fdAT', fdat));
    }
  });
  parts.push(chunk('IEND', new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return { data: out, frames: kept.length };
}

/** The zlib stream of a rectangle encoded as an 8-bit RGBA PNG by libvips: its IDAT payloads, joined. */
async function imageData(rgba: Uint8Array, r: Rect): Promise<Uint8Array> {
  const png = await sharp(rgba, { raw: { width: r.width, height: r.height, channels: 4 } })
    .png({ compressionLevel: COMPRESSION_LEVEL, adaptiveFiltering: false })
    .toBuffer();
  const idat: Uint8Array[] = [];
  for (const { type, data, view } of pngChunks(png)) {
    if (type === 'IHDR' && (view.getUint32(0) !== r.width || view.getUint32(4) !== r.height || data[8] !== 8 || data[9] !== 6 || data[12] !== 0)) {
      throw new Error('libvips wrote a PNG that is not 8-bit RGBA');
    }
    if (type === 'IDAT') idat.push(data);
  }
  return idat.length === 1 ? idat[0] : Buffer.concat(idat);
}

// zlib level for palette frames: they exist to be small, and a byte a pixel deflates quickly.
const PALETTE_COMPRESSION_LEVEL = 9;

/** The zlib stream of a rectangle's palette indices: each row behind its filter byte (none, as PNG advises for palettes). */
async function indexedData(indices: Uint8Array, r: Rect): Promise<Uint8Array> {
  const rows = new Uint8Array(r.height * (r.width + 1));
  for (let y = 0; y < r.height; y++) rows.set(indices.subarray(y * r.width, (y + 1) * r.width), y * (r.width + 1) + 1);
  return deflateAsync(rows, { level: PALETTE_COMPRESSION_LEVEL });
}

import sharp from 'sharp';
import { encodeChanges, type Rect } from './frame-diff.js';

// zlib level for each rectangle, as for single PNGs: lossless either way; level 3 was ~20 % faster and
// gave files ~10 % larger (BENCHMARKS.md). No row filter: it suits flat sticker art (as for PNG).
const COMPRESSION_LEVEL = 6;

/**
 * A minimal APNG writer: RGBA, 8 bits, looping forever. After the first, each frame is only the rectangle
 * that changed (replacing what is under it, nothing disposed), and a frame equal to the one before just
 * lengthens it, as in the WebP encoder. Each rectangle is encoded as a PNG by libvips (sharp) on libuv's
 * threads, so compression uses both cores while this thread renders; its image data (the IDAT chunks, one
 * zlib stream) becomes the frame's IDAT or fdAT.
 */
export async function encodeApng(frames: Iterable<Uint8Array>, width: number, height: number, delaysMs: number[]): Promise<{ data: Uint8Array; frames: number }> {
  // The count in acTL and the delays (which grow while frames repeat) are known at the end, so the chunks
  // are written then.
  const kept = await encodeChanges(frames, delaysMs, width, height, imageData);
  const parts: Uint8Array[] = [PNG_SIGNATURE];
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, deflate, adaptive filtering, no interlace
  parts.push(chunk('IHDR', ihdr));
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

const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Uint8Array): Uint8Array {
  const c = new Uint8Array(12 + data.length);
  const v = new DataView(c.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) c[4 + i] = type.charCodeAt(i);
  c.set(data, 8);
  v.setUint32(8 + data.length, crc32(c.subarray(4, 8 + data.length)));
  return c;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Reads frame count, play count and delays back from an APNG's chunks (for tests and diagnostics). */
export function readApng(png: Uint8Array): { frames: number; plays: number; delaysMs: number[]; width: number; height: number } {
  let frames = 0;
  let plays = -1;
  let width = 0;
  let height = 0;
  const delaysMs: number[] = [];
  for (const { type, view } of pngChunks(png)) {
    if (type === 'IHDR') [width, height] = [view.getUint32(0), view.getUint32(4)];
    if (type === 'acTL') [frames, plays] = [view.getUint32(0), view.getUint32(4)];
    if (type === 'fcTL') delaysMs.push((view.getUint16(20) * 1000) / (view.getUint16(22) || 100));
  }
  return { frames, plays, delaysMs, width, height };
}

/**
 * ffmpeg's APNG muxer cannot seek back on a pipe, so it leaves acTL's frame count unknown (0xFFFFFFFF);
 * this writes the real count (the fcTL chunks) and the chunk's CRC, in place.
 */
export function fixApngFrameCount(png: Uint8Array): Uint8Array {
  let actl = -1;
  let frames = 0;
  for (const { type, at } of pngChunks(png)) {
    if (type === 'acTL') actl = at;
    if (type === 'fcTL') frames++;
  }
  if (actl < 0) return png;
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  v.setUint32(actl + 8, frames);
  v.setUint32(actl + 16, crc32(png.subarray(actl + 4, actl + 16)));
  return png;
}

/** The chunks of a PNG after its signature: where each starts, its type, and a view of its data (no CRC). */
function* pngChunks(png: Uint8Array): Generator<{ at: number; type: string; data: Uint8Array; view: DataView }> {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at + 8 <= png.length; ) {
    const len = v.getUint32(at);
    const data = png.subarray(at + 8, at + 8 + len);
    yield { at, type: String.fromCharCode(...png.subarray(at + 4, at + 8)), data, view: new DataView(data.buffer, data.byteOffset, data.byteLength) };
    at += 12 + len;
  }
}

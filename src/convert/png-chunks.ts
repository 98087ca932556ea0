/**
 * Reading and writing PNG chunks, with no dependency: the APNG writer in the pool threads builds files from
 * them, and the main thread reads and patches ffmpeg's APNG output without loading an image library.
 */

export const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk: length, type, data and CRC. */
export function chunk(type: string, data: Uint8Array): Uint8Array {
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
export function* pngChunks(png: Uint8Array): Generator<{ at: number; type: string; data: Uint8Array; view: DataView }> {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at + 8 <= png.length; ) {
    const len = v.getUint32(at);
    const data = png.subarray(at + 8, at + 8 + len);
    yield { at, type: String.fromCharCode(...png.subarray(at + 4, at + 8)), data, view: new DataView(data.buffer, data.byteOffset, data.byteLength) };
    at += 12 + len;
  }
}

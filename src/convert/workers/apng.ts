import { zlibSync } from 'fflate';

/**
 * A minimal APNG writer: RGBA, 8 bits, every frame full size, disposed to transparent, looping forever.
 * Pure JavaScript (fflate for zlib) on purpose: the thread may be terminated at its deadline, and Node
 * aborts the whole process if that happens inside a native zlib call.
 */
export function encodeApng(frames: Uint8Array[], width: number, height: number, delaysMs: number[]): Uint8Array {
  const parts: Uint8Array[] = [PNG_SIGNATURE];
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, deflate, adaptive filtering, no interlace
  parts.push(chunk('IHDR', ihdr));
  const actl = new Uint8Array(8);
  new DataView(actl.buffer).setUint32(0, frames.length); // num_plays 0 = forever
  parts.push(chunk('acTL', actl));
  let seq = 0;
  frames.forEach((rgba, i) => {
    const fctl = new Uint8Array(26);
    const f = new DataView(fctl.buffer);
    f.setUint32(0, seq++);
    f.setUint32(4, width);
    f.setUint32(8, height);
    f.setUint16(20, delaysMs[i]); // delay_num / delay_den: milliseconds
    f.setUint16(22, 1000);
    fctl[24] = 1; // dispose to transparent black: no frame shows through the next
    fctl[25] = 0; // blend: source (replace)
    parts.push(chunk('fcTL', fctl));
    // PNG image data is a zlib stream (header and Adler-32), not raw deflate.
    const data = zlibSync(filtered(rgba, width, height), { level: 6 });
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
  return out;
}

const PNG_SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Scanlines with the "Sub" filter: each byte minus the one 4 bytes left; it suits flat sticker art well. */
function filtered(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const stride = width * 4;
  const out = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const src = y * stride;
    const dst = y * (stride + 1);
    out[dst] = 1;
    for (let x = 0; x < stride; x++) out[dst + 1 + x] = (rgba[src + x] - (x >= 4 ? rgba[src + x - 4] : 0)) & 0xff;
  }
  return out;
}

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
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let at = 8;
  let frames = 0;
  let plays = -1;
  let width = 0;
  let height = 0;
  const delaysMs: number[] = [];
  while (at < png.length) {
    const len = v.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const d = at + 8;
    if (type === 'IHDR') [width, height] = [v.getUint32(d), v.getUint32(d + 4)];
    if (type === 'acTL') [frames, plays] = [v.getUint32(d), v.getUint32(d + 4)];
    if (type === 'fcTL') delaysMs.push((v.getUint16(d + 20) * 1000) / (v.getUint16(d + 22) || 100));
    at = d + len + 4;
  }
  return { frames, plays, delaysMs, width, height };
}

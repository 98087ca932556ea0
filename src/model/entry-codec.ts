import type { StickerEntry } from './entry.js';

/**
 * A cache entry as one binary value: [u32 BE metadata length][metadata JSON][gzip bytes][plain bytes].
 * Binary all the way: no base64 inflation, one GET per lookup.
 */
interface Meta {
  v: 1;
  u: string;
  o: StickerEntry['original'];
  out: StickerEntry['output'];
  ct: string;
  conv: boolean;
  ms: number;
  etag: string;
  gz: number;
  pl: number;
  info?: StickerEntry['info'];
  dims?: StickerEntry['outputDims'];
  pr?: StickerEntry['preset'];
}

export function encodeEntry(e: StickerEntry, withPlain: boolean): Buffer {
  const plain = withPlain || !e.gzip ? e.plain : undefined;
  const meta: Meta = {
    v: 1,
    u: e.fileUniqueId,
    o: e.original,
    out: e.output,
    ct: e.contentType,
    conv: e.isConverted,
    ms: e.conversionMs,
    etag: e.etag,
    gz: e.gzip?.length ?? 0,
    pl: plain?.length ?? 0,
    info: e.info,
    dims: e.outputDims,
    pr: e.preset,
  };
  const json = Buffer.from(JSON.stringify(meta));
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(json.length, 0);
  return Buffer.concat([head, json, e.gzip ?? Buffer.alloc(0), plain ?? Buffer.alloc(0)]);
}

/** Undefined for anything that is not a value this codec wrote (a foreign or truncated value is a miss). */
export function decodeEntry(b: Buffer): Omit<StickerEntry, 'bytes' | 'etagGzip'> | undefined {
  if (b.length < 4) return undefined;
  const n = b.readUInt32BE(0);
  if (4 + n > b.length) return undefined;
  let meta: Meta;
  try {
    meta = JSON.parse(b.subarray(4, 4 + n).toString('utf8')) as Meta;
  } catch {
    return undefined;
  }
  if (meta.v !== 1 || 4 + n + meta.gz + meta.pl !== b.length) return undefined;
  const start = 4 + n;
  // Views into the reply, not copies: the reply buffer holds exactly this value and nothing else.
  const gzip = meta.gz > 0 ? b.subarray(start, start + meta.gz) : undefined;
  const plain = meta.pl > 0 ? b.subarray(start + meta.gz) : undefined;
  return {
    fileUniqueId: meta.u,
    original: meta.o,
    output: meta.out,
    contentType: meta.ct,
    isConverted: meta.conv,
    conversionMs: meta.ms,
    etag: meta.etag,
    gzip,
    plain,
    info: meta.info,
    outputDims: meta.dims,
    ...(meta.pr && { preset: meta.pr }),
  };
}

import { createHmac, timingSafeEqual } from 'node:crypto';

// Signed URLs, as imgproxy does: sig = base64url (no padding) of HMAC-SHA256(key, the canonical request).

/**
 * The string a signature covers: the path, then `?` and the query parameters other than `sig`, sorted by
 * name (then value) and joined as `k=v&k=v` with their decoded values; just the path when there are none.
 */
export function canonicalRequest(path: string, rawQuery: string): string {
  const pairs = [...new URLSearchParams(rawQuery)].filter(([k]) => k !== 'sig');
  if (pairs.length === 0) return path;
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return `${path}?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
}

export function signature(key: Buffer, path: string, rawQuery: string): string {
  return createHmac('sha256', key).update(canonicalRequest(path, rawQuery)).digest('base64url');
}

/** Whether `sig` is the signature of the request under any of the keys (several during a rotation), compared in constant time. */
export function verifySignature(keys: readonly Buffer[], path: string, rawQuery: string, sig: string): boolean {
  const given = Buffer.from(sig, 'base64url');
  // base64url decoding skips what it cannot read: only a signature that reads back the same is compared.
  if (given.length !== 32 || given.toString('base64url') !== sig) return false;
  const canonical = canonicalRequest(path, rawQuery);
  let ok = false;
  for (const key of keys) ok = timingSafeEqual(createHmac('sha256', key).update(canonical).digest(), given) || ok;
  return ok;
}

/** A path with its query and a `sig` for the first key: what `sticker-processor sign` prints. */
export function signedUrl(key: Buffer, pathAndQuery: string): string {
  const at = pathAndQuery.indexOf('?');
  const path = at < 0 ? pathAndQuery : pathAndQuery.slice(0, at);
  // A sig already there (signing again) is left out, as the server leaves it out.
  const query = at < 0 ? '' : pathAndQuery.slice(at + 1).split('&').filter((p) => p && !p.startsWith('sig=')).join('&');
  const sig = signature(key, path, query);
  return `${path}?${query ? `${query}&` : ''}sig=${sig}`;
}

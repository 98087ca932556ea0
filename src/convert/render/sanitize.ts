/**
 * Makes a parsed Lottie document safe to render, and drawn as Telegram draws it, in place; returns how many
 * things went:
 * - every expression (a string-valued "x" on a property): the default renderer (ThorVG in dotlottie-web)
 *   evaluates expressions with an embedded JavaScript engine, and a stranger's sticker must never run code
 *   here. Elsewhere in the format "x" is numeric (easing handles), so only strings are removed;
 * - every reference to something outside the file (an image asset's "p" that is not a data: URI, with its
 *   base "u"; a font's "fPath"): dotlottie-web fetches such images over HTTP (proved by a test), which would
 *   let a sticker make the service call any address it can reach;
 * - every embedded image that is not a PNG or JPEG within MAX_IMAGE_EDGE: a small file can declare an image
 *   whose decoded pixels would take gigabytes;
 * - every layer effect (blur, drop shadow, ...): Telegram's sticker rules forbid them and its renderer
 *   (rlottie) draws none, so frames with them are not what Telegram shows (a drop shadow took lottie_11
 *   from 48 to 36 dB against rlottie's frames); and their cost grows with a radius the file chooses (a
 *   2000 px blur on two layers took a 512 px frame from 1.7 to 13 ms).
 * Iterative, so a deeply nested document cannot overflow the stack.
 */
export function stripUnsafe(doc: unknown): number {
  let removed = 0;
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const v of node) if (v !== null && typeof v === 'object') stack.push(v);
      continue;
    }
    const o = node as Record<string, unknown>;
    if (typeof o.x === 'string') {
      delete o.x;
      removed++;
    }
    if (typeof o.p === 'string' && (!o.p.startsWith('data:') || !acceptedImage(o.p))) {
      delete o.p;
      delete o.u;
      removed++;
    }
    if (typeof o.fPath === 'string' && o.fPath !== '') {
      delete o.fPath;
      removed++;
    }
    if (Array.isArray(o.ef) && o.ef.length > 0) {
      delete o.ef;
      removed++;
    }
    for (const v of Object.values(o)) if (v !== null && typeof v === 'object') stack.push(v);
  }
  return removed;
}

// A key can only be spelt plainly or with \u escapes. Text with no escape at all is checked for the four
// plain spellings (a string "x", a string "p", any "fPath", a non-empty "ef"); text with an escape anywhere
// is always parsed, so no spelling can slip past. Telegram's stickers have none of these (no images, no
// expressions, no effects).
const MAY_BE_UNSAFE = /\\u|"x"\s*:\s*"|"p"\s*:\s*"|"fPath"\s*:|"ef"\s*:\s*\[\s*[^\]\s]/;

/** False when the text certainly holds nothing stripUnsafe would remove (a regular expression test, no parse). */
export function mayBeUnsafe(json: string): boolean {
  return MAY_BE_UNSAFE.test(json);
}

/**
 * Lottie JSON text made safe to render (stripUnsafe). Most stickers hold nothing to remove, and for them
 * the text is returned as it is: the parse, walk and re-serialisation (several ms a sticker) only run when
 * the text could hold something.
 */
export function sanitizeLottie(json: string): string {
  if (!mayBeUnsafe(json)) return json;
  const doc: unknown = JSON.parse(json);
  stripUnsafe(doc);
  return JSON.stringify(doc);
}

/** Embedded images are decoded only up to this edge. */
export const MAX_IMAGE_EDGE = 4096;

/** The image bytes of a data: URI that may be decoded: a PNG or JPEG within MAX_IMAGE_EDGE; else undefined. */
export function acceptedImage(uri: string): Buffer | undefined {
  const bytes = dataUriImage(uri);
  const size = bytes && imageSize(bytes);
  return size && size.width <= MAX_IMAGE_EDGE && size.height <= MAX_IMAGE_EDGE ? bytes : undefined;
}

/** The bytes of a base64 data: URI of a PNG or JPEG; undefined for anything else. */
function dataUriImage(uri: string): Buffer | undefined {
  const m = /^data:image\/(png|jpe?g);base64,/i.exec(uri);
  return m ? Buffer.from(uri.slice(m[0].length), 'base64') : undefined;
}

/** Width and height from a PNG's IHDR or a JPEG's SOF marker; undefined when neither is found. */
function imageSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR') {
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  for (let at = 2; at + 9 < b.length; ) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1];
    const length = b.readUInt16BE(at + 2);
    // SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(at + 5), width: b.readUInt16BE(at + 7) };
    }
    at += 2 + length;
  }
  return undefined;
}


/**
 * Makes a parsed Lottie document safe to render, in place, and returns how many things went:
 * - every expression (a string-valued "x" on a property): the default renderer (ThorVG in dotlottie-web)
 *   evaluates expressions with an embedded JavaScript engine, and a stranger's sticker must never run code
 *   here. Elsewhere in the format "x" is numeric (easing handles), so only strings are removed;
 * - every reference to something outside the file (an image asset's "p" that is not a data: URI, with its
 *   base "u"; a font's "fPath"): dotlottie-web fetches such images over HTTP (proved by a test), which would
 *   let a sticker make the service call any address it can reach.
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
    if (typeof o.p === 'string' && !o.p.startsWith('data:')) {
      delete o.p;
      delete o.u;
      removed++;
    }
    if (typeof o.fPath === 'string' && o.fPath !== '') {
      delete o.fPath;
      removed++;
    }
    for (const v of Object.values(o)) if (v !== null && typeof v === 'object') stack.push(v);
  }
  return removed;
}

// A key can only be spelt plainly or with \u escapes. Text with no escape at all is checked for the three
// plain spellings (a string "x", a string "p" not starting with data:, any "fPath"); text with an escape
// anywhere is always parsed, so no spelling can slip past.
const MAY_BE_UNSAFE = /\\u|"x"\s*:\s*"|"p"\s*:\s*"(?!data:)|"fPath"\s*:/;

/**
 * Lottie JSON text made safe to render (stripUnsafe). Most stickers hold nothing to remove, and for them
 * the text is returned as it is: the parse, walk and re-serialisation (several ms a sticker) only run when
 * the text could hold something.
 */
export function sanitizeLottie(json: string): string {
  if (!MAY_BE_UNSAFE.test(json)) return json;
  const doc: unknown = JSON.parse(json);
  stripUnsafe(doc);
  return JSON.stringify(doc);
}

/**
 * Removes every Lottie expression (a string-valued "x" on a property) from a parsed document, in place,
 * and returns how many went. The renderer (ThorVG in dotlottie-web) evaluates expressions with an embedded
 * JavaScript engine; a sticker from a stranger must never run code here, so none reach it. Elsewhere in
 * the format "x" is numeric (easing handles), so only strings are removed.
 * Iterative, so a deeply nested document cannot overflow the stack.
 */
export function stripExpressions(doc: unknown): number {
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
    for (const v of Object.values(o)) if (v !== null && typeof v === 'object') stack.push(v);
  }
  return removed;
}

// A string-valued "x" key, written plainly or escaped (JSON spells a key's characters only these two ways).
const MAY_HAVE_EXPRESSION = /"(?:x|\\u0078)"\s*:\s*"/;

/**
 * Lottie JSON text with every expression removed. Most stickers have none, and for them the text is
 * returned as it is: the parse, walk and re-serialisation (several ms a sticker) only run when the text
 * could hold one.
 */
export function withoutExpressions(json: string): string {
  if (!MAY_HAVE_EXPRESSION.test(json)) return json;
  const doc: unknown = JSON.parse(json);
  stripExpressions(doc);
  return JSON.stringify(doc);
}

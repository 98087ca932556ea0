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

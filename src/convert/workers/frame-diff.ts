/** Where a sub-frame goes on the canvas. */
export type Rect = { x: number; y: number; width: number; height: number };

/** Bounding box of the pixels that differ, with an even origin (ANMF stores offsets halved); undefined if none. */
export function changedRect(a: Uint32Array, b: Uint32Array, width: number, height: number): Rect | undefined {
  let top = -1;
  for (let y = 0; y < height && top < 0; y++) {
    for (let o = y * width, end = o + width; o < end; o++) if (a[o] !== b[o]) { top = y; break; }
  }
  if (top < 0) return undefined;
  let bottom = top;
  for (let y = height - 1; y > top; y--) {
    let differs = false;
    for (let o = y * width, end = o + width; o < end; o++) if (a[o] !== b[o]) { differs = true; break; }
    if (differs) { bottom = y; break; }
  }
  let left = width;
  let right = -1;
  for (let y = top; y <= bottom; y++) {
    const row = y * width;
    for (let x = 0; x < left; x++) if (a[row + x] !== b[row + x]) { left = x; break; }
    for (let x = width - 1; x > right; x--) if (a[row + x] !== b[row + x]) { right = x; break; }
  }
  const x = left & ~1;
  const y = top & ~1;
  return { x, y, width: right + 1 - x, height: bottom + 1 - y };
}

/** The rectangle's pixels (RGBA rows of a canvasWidth-wide frame): a view when it spans whole rows, else a copy. */
export function crop(rgba: Uint8Array, canvasWidth: number, r: Rect): Uint8Array {
  if (r.width === canvasWidth && r.x === 0) return rgba.subarray(r.y * canvasWidth * 4, (r.y + r.height) * canvasWidth * 4);
  const out = new Uint8Array(r.width * r.height * 4);
  for (let row = 0; row < r.height; row++) {
    const from = ((r.y + row) * canvasWidth + r.x) * 4;
    out.set(rgba.subarray(from, from + r.width * 4), row * r.width * 4);
  }
  return out;
}

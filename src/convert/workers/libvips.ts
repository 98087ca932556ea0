// What every libvips (sharp) encoder in the threads shares; no renderer here, so still-image tasks load none.

// PNG is lossless, so effort only trades CPU for size: level 6 is zlib's balance. No adaptive filtering:
// on sticker frames it cost ~10 ms at 512 px and made files larger (46.8 vs 39.5 KB, BENCHMARKS.md).
export const PNG_OPTIONS = { compressionLevel: 6 } as const;

/** An [r, g, b] colour as sharp takes it. */
export const rgb = ([r, g, b]: [number, number, number]) => ({ r, g, b });

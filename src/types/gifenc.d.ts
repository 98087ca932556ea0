// gifenc ships no types; only what this project uses is declared.
declare module 'gifenc' {
  export type Palette = number[][];
  export function quantize(rgba: Uint8Array, maxColors: number, opts?: { format?: 'rgb565' | 'rgb444' | 'rgba4444'; oneBitAlpha?: boolean | number; clearAlpha?: boolean }): Palette;
  /** With auto false the caller writes the header and marks the first frame (which carries the screen size and the global palette). */
  export function GIFEncoder(opts?: { auto?: boolean; initialCapacity?: number }): {
    writeHeader(): void;
    writeFrame(index: Uint8Array, width: number, height: number, opts?: { palette?: Palette; delay?: number; repeat?: number; transparent?: boolean; transparentIndex?: number; dispose?: number; first?: boolean }): void;
    finish(): void;
    reset(): void;
    bytes(): Uint8Array;
    bytesView(): Uint8Array;
    readonly stream: { writeBytesView(bytes: Uint8Array): void };
  };
}

/**
 * Platform presets: what a sticker must be to be accepted somewhere, from sticker-convert's published
 * limits. One table; the engine searches within it (convert/fit-preset.ts) and checks the result.
 */
export interface Preset {
  /** The longer edge in pixels; with `square`, the canvas is size x size (the image centred on it). */
  size: number;
  square: boolean;
  /** Whether the size may be lowered to fit the byte limit (a platform that takes "up to" size). */
  sizeMayShrink: boolean;
  animated: { format: 'webm' | 'webp' | 'apng'; maxBytes: number; maxFps: number; maxDurationMs: number };
  still: { format: 'webp' | 'png'; maxBytes: number };
}

export const PRESETS = {
  // Video stickers: WebM VP9, one side 512, at most 30 fps and 3 s, 256 KB; static: 512 KB.
  telegram: { size: 512, square: false, sizeMayShrink: false, animated: { format: 'webm', maxBytes: 256_000, maxFps: 30, maxDurationMs: 3000 }, still: { format: 'webp', maxBytes: 512_000 } },
  // Custom emoji: 100 x 100, the same formats and byte limits.
  telegram_emoji: { size: 100, square: true, sizeMayShrink: false, animated: { format: 'webm', maxBytes: 256_000, maxFps: 30, maxDurationMs: 3000 }, still: { format: 'webp', maxBytes: 512_000 } },
  // Animated WebP 512 x 512 up to 500 KB and 10 s; static WebP up to 100 KB.
  whatsapp: { size: 512, square: true, sizeMayShrink: false, animated: { format: 'webp', maxBytes: 500_000, maxFps: 30, maxDurationMs: 10_000 }, still: { format: 'webp', maxBytes: 100_000 } },
  // APNG (or PNG) up to 512 px, 300 KB and 3 s.
  signal: { size: 512, square: false, sizeMayShrink: true, animated: { format: 'apng', maxBytes: 300_000, maxFps: 30, maxDurationMs: 3000 }, still: { format: 'png', maxBytes: 300_000 } },
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** What a preset result traded to fit, for the response headers. */
export interface PresetFit {
  name: PresetName;
  fit: 'exact' | 'reduced';
  quality?: number;
  fps?: number;
  size: number;
}

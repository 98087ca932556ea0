/**
 * Limits that are not settings: bounds no operator needs to move (Telegram's own sticker rules are far
 * inside them), named here so that each has one place and one reason. Everything an operator may tune is a
 * setting in config.ts.
 */

/** Highest Lottie frame rate accepted (Telegram's stickers are 30 or 60). */
export const MAX_FRAME_RATE = 240;
/**
 * Most layers an animation may have, counting every use of a precomposition: real stickers have tens, and
 * tens of thousands ("billion laughs" files) make a single frame take seconds.
 */
export const MAX_LAYERS = 5000;
/** Deepest nesting of precompositions accepted. */
export const MAX_PRECOMP_NESTING = 64;
/** Largest result ffmpeg may write for one video conversion; beyond it the conversion is stopped. */
export const MAX_VIDEO_OUTPUT_BYTES = 256 * 1024 * 1024;
/** Most pixels libvips may decode from one still image (a header can declare gigapixels in a few bytes). */
export const MAX_INPUT_PIXELS = 64 * 1024 * 1024;

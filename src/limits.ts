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
/** Most pixels of decoded frames a conversion may hold at once (an animated WebP/GIF, or a video for GIF and palette APNG), at the output size (4 bytes each). */
export const MAX_ANIMATION_PIXELS = 48 * 1024 * 1024;
/** Most pixels libvips may decode from one still image (a header can declare gigapixels in a few bytes). */
export const MAX_INPUT_PIXELS = 64 * 1024 * 1024;
/** An upload's pace (UPLOAD_MIN_BYTES_PER_SEC) is checked over windows this long. */
export const UPLOAD_PACE_WINDOW_MS = 5000;
/** A multipart body may exceed MAX_UPLOAD_MB by this much: boundaries, part headers, other small fields. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;
/** How often Node looks for sockets past the header and request timeouts (its default is 30 s). */
export const SERVER_TIMEOUT_CHECK_MS = 1000;
/** While Telegram rejects the bot token, readiness asks getMe again at most this often. */
export const TOKEN_RECHECK_MS = 5000;
/** Time limit of that getMe. */
export const TOKEN_CHECK_TIMEOUT_MS = 3000;
/**
 * A stopping worker first answers for this long with Connection: close, so keep-alive clients leave on their
 * own instead of having an idle connection closed under a request they are just sending.
 */
export const SHUTDOWN_DRAIN_MS = 1000;

/** Conversions one preset request may run while searching for a result that fits its byte limit. */
export const MAX_PRESET_ATTEMPTS = 10;

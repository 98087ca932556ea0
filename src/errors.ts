/**
 * The error catalogue: every failure the service reports has a stable code, an HTTP status and a public
 * message. Routes and services throw these; one handler in app.ts turns them into responses.
 */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    /** Seconds, sent as Retry-After when the failure is about load or upstream limits. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** Makes one kind of error; its code and status are readable without making one (README's table is checked against them). */
type Make<A extends unknown[]> = ((...args: A) => AppError) & { readonly code: string; readonly status: number };
const def = <A extends unknown[]>(code: string, status: number, msg: (...args: A) => string, retry?: (...args: A) => number | undefined): Make<A> =>
  Object.assign((...args: A) => new AppError(code, status, msg(...args), retry?.(...args)), { code, status });

export const errors = {
  invalidFileId: def('INVALID_FILE_ID', 400, (why: string) => `Invalid file_id: ${why}`),
  telegramBadRequest: def('TELEGRAM_BAD_REQUEST', 400, (description: string) => `Telegram rejected the file_id: ${description}`),
  fileNotFound: def('FILE_NOT_FOUND', 404, (description: string) => `File not found at Telegram: ${description}`),
  invalidSetName: def('INVALID_SET_NAME', 400, (why: string) => `Invalid sticker set: ${why}`),
  setNotFound: def('STICKER_SET_NOT_FOUND', 404, (name: string) => `Telegram has no sticker set named ${name}`),
  setTooLarge: def('SET_TOO_LARGE', 422, (count: number, max: number) => `The set has ${count} stickers; an archive takes at most ${max} (MAX_SET_STICKERS)`),
  invalidCustomEmojiId: def('INVALID_CUSTOM_EMOJI_ID', 400, () => 'Invalid custom emoji id: decimal digits, up to 24 (the custom_emoji_id of a message entity)'),
  customEmojiNotFound: def('CUSTOM_EMOJI_NOT_FOUND', 404, (id: string) => `Telegram has no custom emoji ${id}`),
  gridTooLarge: def('GRID_TOO_LARGE', 422, (why: string) => `The grid is too large: ${why}`),
  badBody: def('INVALID_BODY', 400, (name: string, expected: string) => `Invalid JSON body field "${name}": ${expected}`),
  fileTooBig: def('FILE_TOO_BIG', 413, (limitBytes: number, detail: string) => `File is too big (${detail}); the limit is ${limitBytes} bytes`),
  lottieTooLarge: def('LOTTIE_TOO_LARGE', 413, (limitBytes: number) => `The sticker is too large once decompressed: its Lottie JSON exceeds ${limitBytes} bytes (MAX_LOTTIE_BYTES)`),
  unsupportedFormat: def('UNSUPPORTED_FORMAT', 422, (what: string) => `Unsupported file format: ${what}`),
  emptyUpload: def('EMPTY_UPLOAD', 400, () => 'The request body must be a sticker file (TGS, Lottie JSON, WebP, WebM, PNG, JPEG or GIF), or a multipart form with one'),
  badMultipart: def('INVALID_MULTIPART', 400, (why: string) => `The multipart/form-data body cannot be read: ${why}`),
  uploadTimeout: def('UPLOAD_TIMEOUT', 408, (ms: number) => `The upload did not arrive within ${Math.round(ms / 1000)} s (UPLOAD_TIMEOUT_SEC)`),
  uploadTooSlow: def('UPLOAD_TOO_SLOW', 408, (minBytesPerSec: number) => `The upload arrived slower than ${minBytesPerSec} bytes per second (UPLOAD_MIN_BYTES_PER_SEC)`),
  uploadAborted: def('UPLOAD_ABORTED', 400, () => 'The client closed the connection during the upload'),
  uploadsBusy: def('UPLOADS_BUSY', 503, () => 'Too many uploads are in progress on this server; retry shortly', () => 1),
  unrenderable: def('UNRENDERABLE', 422, (why: string) => `The sticker cannot be converted: ${why}`),
  animationTooLarge: def('ANIMATION_TOO_LARGE', 422, (why: string) => `The animation is too large to convert at this size and frame rate: ${why}`),
  presetUnfit: def('PRESET_UNFIT', 422, (preset: string, why: string) => `The sticker cannot fit the ${preset} preset: ${why}`),
  badParameter: def('INVALID_PARAMETER', 400, (name: string, expected: string) => `Invalid query parameter "${name}": ${expected}`),
  impossibleFormat: def('IMPOSSIBLE_FORMAT', 400, (why: string) => why),
  ffmpegMissing: def('FFMPEG_MISSING', 501, () => 'Converting video stickers needs ffmpeg, which is not installed on this server (apt-get install ffmpeg, or set FFMPEG_PATH)'),
  corruptSticker: def('CORRUPT_STICKER', 422, (why: string) => `The sticker file is corrupt: ${why}`),
  telegramRateLimited: def(
    'TELEGRAM_RATE_LIMITED',
    503,
    (retryAfter: number) => `Telegram is rate limiting this service; retry after ${retryAfter} s`,
    (retryAfter: number) => retryAfter,
  ),
  tokenMissing: def('TOKEN_NOT_CONFIGURED', 503, () => 'TELEGRAM_BOT_TOKEN is not configured on this server'),
  overloaded: def('OVERLOADED', 503, (what: string) => `Server is busy (${what}); retry shortly`, () => 1),
  telegramUnavailable: def('TELEGRAM_UNAVAILABLE', 502, (detail: string) => `Telegram is unavailable: ${detail}`),
  telegramAuth: def('TELEGRAM_AUTH_FAILED', 502, () => 'Telegram rejected the bot token configured on this server'),
  timeout: def('TIMEOUT', 504, (ms: number) => `The request did not complete within ${Math.round(ms)} ms`),
  conversionTimeout: def('CONVERSION_TIMEOUT', 504, (ms: number) => `Processing the sticker took longer than ${ms} ms`),
  internal: def('INTERNAL', 500, () => 'Internal Server Error'),
  adminDisabled: def('ADMIN_DISABLED', 403, () => 'Cache administration is disabled: set ADMIN_TOKEN on the server'),
  unauthorized: def('UNAUTHORIZED', 401, () => 'Missing or wrong bearer token'),
  invalidSignature: def('INVALID_SIGNATURE', 403, (why: string) => `This server serves signed URLs only (URL_SIGNING_KEY): ${why}`),
  presetRequired: def('PRESET_REQUIRED', 403, (names: string) => `This server serves named presets only (ONLY_PRESETS): give preset alone (${names}), or no output options`),
  uploadsDisabled: def('UPLOADS_DISABLED', 403, () => 'POST /convert and /stickers/combine are off on this server: URL signing is on and no UPLOAD_TOKEN is set'),
  rateLimited: def('RATE_LIMITED', 429, (max: number, window: string) => `Rate limit exceeded: ${max} requests per ${window}; retry later`),
  conversionsLimited: def(
    'CONVERSIONS_LIMITED',
    429,
    (max: number, window: string, _retryAfter: number) => `Conversion rate limit exceeded: ${max} conversions per ${window}; cached results are still served`,
    (_max: number, _window: string, retryAfter: number) => retryAfter,
  ),
  routeNotFound: def('ROUTE_NOT_FOUND', 404, (method: string, path: string) => `Route ${method} ${path} not found`),
} as const;

export const statusText: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

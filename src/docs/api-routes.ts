import { errors } from '../errors.js';

type ErrorKind = (typeof errors)[keyof typeof errors];

/** What the API document says about one route; the query of the sticker routes comes from its zod schema. */
export interface RouteDoc {
  summary: string;
  description: string;
  tag: 'stickers' | 'operations' | 'admin';
  /** Path parameters, by name: their description. */
  params?: Record<string, string>;
  /** The sticker query (format, size, ...), described by the schema that validates it. */
  variantQuery?: true;
  /** Served by signed URL when URL_SIGNING_KEY is set: the `sig` query parameter. */
  signed?: true;
  /** The body, by content type: its description. */
  body?: { description: string; types: string[] };
  /** 2xx and 3xx answers: status → description and content types. */
  ok: Record<number, { description: string; types?: string[]; stickerHeaders?: true }>;
  /** The error codes this route can answer with; grouped by status in the document. */
  errors: ErrorKind[];
  /** Needs Authorization: Bearer ADMIN_TOKEN. */
  admin?: true;
  /** Counts against RATE_LIMIT_* (adds 429 and the X-RateLimit-* headers). */
  rateLimited: boolean;
}

const fileIdParam = { fileId: 'A Telegram file_id: 10 to 256 characters of A-Z a-z 0-9 - _' };
const STICKER_TYPES = ['application/json', 'application/x-tgsticker', 'image/png', 'image/webp', 'image/gif', 'image/apng', 'image/jpeg', 'video/webm', 'video/mp4'];
const telegramErrors = [
  errors.telegramBadRequest, errors.fileNotFound, errors.fileTooBig, errors.telegramUnavailable, errors.telegramAuth,
  errors.telegramRateLimited, errors.tokenMissing,
]; // prettier-ignore
const conversionErrors = [
  errors.badParameter, errors.impossibleFormat, errors.lottieTooLarge, errors.unsupportedFormat, errors.corruptSticker, errors.unrenderable, errors.animationTooLarge,
  errors.presetUnfit,   errors.ffmpegMissing, errors.conversionsLimited, errors.overloaded, errors.timeout, errors.conversionTimeout,
]; // prettier-ignore
const adminErrors = [errors.unauthorized, errors.adminDisabled];

/** Every route the service registers, keyed "METHOD /path" in OpenAPI's path syntax (HEAD goes with GET). */
export const API_ROUTES: Record<string, RouteDoc> = {
  'GET /stickers/{fileId}': {
    summary: 'A sticker, fetched through the Bot API, converted on request and cached',
    description:
      'Lookup order: in-process cache, disk tier, Redis, then Telegram (getFile, then the download). TGS stickers are served as Lottie JSON by default ' +
      '(or as the gzip TGS with Accept-Encoding: gzip); other stickers as they are. The query asks for another format; results are cached per variant.',
    tag: 'stickers',
    params: fileIdParam,
    variantQuery: true,
    signed: true,
    ok: {
      200: { description: 'The sticker, or the requested variant', types: STICKER_TYPES, stickerHeaders: true },
      304: { description: 'If-None-Match matches the ETag' },
    },
    errors: [errors.invalidFileId, ...telegramErrors, ...conversionErrors, errors.invalidSignature, errors.presetRequired, errors.rateLimited, errors.internal],
    rateLimited: true,
  },
  'POST /convert': {
    summary: 'Convert an uploaded sticker file',
    description:
      'The body is a sticker file (TGS, Lottie JSON, WebP, WebM, PNG, JPEG, GIF; the format is read from the bytes) or a multipart form whose first file ' +
      'field is one. Same query and headers as GET /stickers/{fileId}; nothing is cached. Off with UPLOAD_ENABLED=false. With UPLOAD_TOKEN it needs ' +
      'Authorization: Bearer UPLOAD_TOKEN; with URL_SIGNING_KEY and no UPLOAD_TOKEN it is off (403).',
    tag: 'stickers',
    variantQuery: true,
    body: { description: 'The file, or a multipart/form-data form holding it', types: ['application/octet-stream', 'multipart/form-data'] },
    ok: { 200: { description: 'The converted file', types: STICKER_TYPES, stickerHeaders: true } },
    errors: [
      errors.emptyUpload, errors.badMultipart, errors.uploadAborted, errors.uploadTimeout, errors.uploadTooSlow, errors.fileTooBig,
      errors.uploadsBusy, ...conversionErrors, errors.unauthorized, errors.uploadsDisabled, errors.presetRequired, errors.rateLimited, errors.internal,
    ], // prettier-ignore
    rateLimited: true,
  },
  'GET /sticker-sets/{name}': {
    summary: 'A sticker set: its title, type and stickers, with URLs of this service for each',
    description:
      'getStickerSet, kept for STICKER_SET_TTL_SEC. The name, or a t.me/addstickers/ or t.me/addemoji/ link (URL-encoded). Each sticker: index, file_id, ' +
      'file_unique_id, emoji, kind (static, animated, video), width, height, needs_repainting, custom_emoji_id, url and thumbnail_url; the set\'s archive_url and grid_url (all signed when URL_SIGNING_KEY is set).',
    tag: 'stickers',
    params: { name: 'A set name (letters, digits, _; up to 64) or a t.me/addstickers/<name> link' },
    signed: true,
    ok: { 200: { description: 'The set', types: ['application/json'] } },
    errors: [errors.invalidSetName, errors.setNotFound, ...telegramErrors, errors.invalidSignature, errors.rateLimited, errors.internal],
    rateLimited: true,
  },
  'GET /sticker-sets/{name}/archive': {
    summary: 'A whole sticker set as a ZIP, in the format the query asks for',
    description:
      'Streamed as it is built: each sticker through the normal path (caches, Telegram, the engine), ARCHIVE_CONCURRENCY at a time, named ' +
      '<index>_<emoji or file_unique_id>.<ext>, then manifest.json listing what was delivered and what failed and why. Same query as GET /stickers/{fileId}. ' +
      'A client that disconnects stops the work; ARCHIVE_TIMEOUT_SEC bounds it (stickers not reached are listed as failed).',
    tag: 'stickers',
    params: { name: 'A set name (letters, digits, _; up to 64) or a t.me/addstickers/<name> link' },
    variantQuery: true,
    signed: true,
    ok: { 200: { description: 'The archive', types: ['application/zip'] } },
    errors: [errors.invalidSetName, errors.setNotFound, errors.setTooLarge, errors.badParameter, errors.impossibleFormat, ...telegramErrors, errors.invalidSignature, errors.presetRequired, errors.rateLimited, errors.internal],
    rateLimited: true,
  },
  'GET /custom-emoji/{id}': {
    summary: 'A custom emoji by its id, served as /stickers serves its file',
    description:
      'getCustomEmojiStickers (ids asked for within CUSTOM_EMOJI_BATCH_MS of each other share one call of up to 200; resolved ids are kept CACHE_TTL_DAYS), ' +
      'then the file as GET /stickers/{fileId} serves it, with the same query and headers, plus X-Custom-Emoji-Id, X-Needs-Repainting and X-Emoji ' +
      '(URL-encoded). tint applies to needs_repainting emoji and is left out for the others, as a Telegram client would.',
    tag: 'stickers',
    params: { id: 'A custom_emoji_id (decimal digits, up to 24), as a message entity carries it' },
    variantQuery: true,
    signed: true,
    ok: {
      200: { description: 'The emoji, or the requested variant', types: STICKER_TYPES, stickerHeaders: true },
      304: { description: 'If-None-Match matches the ETag' },
    },
    errors: [errors.invalidCustomEmojiId, errors.customEmojiNotFound, ...telegramErrors, ...conversionErrors, errors.invalidSignature, errors.presetRequired, errors.rateLimited, errors.internal],
    rateLimited: true,
  },
  'GET /sticker-sets/{name}/grid': {
    summary: "A set's stickers in one image: the first frame of each in a grid",
    description:
      'Query: tile (16 to MAX_OUTPUT_SIZE, default 128: each cell\'s side), columns (1 to 64, default the square root of the count rounded up), ' +
      'format (webp, the default, or png), image_type (main: each sticker\'s first frame; thumbnail or thumb: the set\'s thumbnails), max_stickers ' +
      '(at most the first N), background (transparent or a hex colour). ' +
      'Each tile is the sticker as /stickers/{fileId}?format=png&size=<tile> (and cached as it), centred in its cell, row by row; a sticker that fails ' +
      'leaves its cell empty and is named in X-Grid-Failed (index:CODE,...); a grid without holes is kept in the memory tier. At most MAX_GRID_STICKERS ' +
      'stickers and MAX_GRID_PIXELS pixels.',
    tag: 'stickers',
    params: { name: 'A set name (letters, digits, _; up to 64) or a t.me/addstickers/<name> link' },
    signed: true,
    ok: {
      200: { description: 'The grid', types: ['image/webp', 'image/png'], stickerHeaders: true },
      304: { description: 'If-None-Match matches the ETag' },
    },
    errors: [errors.invalidSetName, errors.setNotFound, errors.gridTooLarge, errors.badParameter, ...telegramErrors, ...conversionErrors, errors.invalidSignature, errors.rateLimited, errors.internal],
    rateLimited: true,
  },
  'POST /stickers/combine': {
    summary: 'Stickers named by file id in one image: the first frame of each in a grid',
    description:
      'JSON body {"file_ids": [...], "tile_size": 128, "columns": n, "format": "webp" | "png"}: the grid of GET /sticker-sets/{name}/grid for these ' +
      'stickers, in this order. With UPLOAD_TOKEN it needs Authorization: Bearer UPLOAD_TOKEN; with URL_SIGNING_KEY and no UPLOAD_TOKEN it is off (403).',
    tag: 'stickers',
    body: { description: 'The file ids and the layout', types: ['application/json'] },
    ok: { 200: { description: 'The grid', types: ['image/webp', 'image/png'] } },
    errors: [errors.badBody, errors.invalidFileId, errors.gridTooLarge, ...telegramErrors, ...conversionErrors, errors.unauthorized, errors.uploadsDisabled, errors.rateLimited, errors.internal],
    rateLimited: true,
  },
  'GET /': {
    summary: 'The preview page',
    description:
      'Paste a file id, a custom emoji id or a set name, or drop a file, and see every output format side by side with its bytes, dimensions, frames and ' +
      'conversion time, and each preset. Plain HTML, CSS and JavaScript (its assets under /preview/), nothing loaded from elsewhere. Off with ' +
      'PREVIEW_ENABLED=false, and by default while URL_SIGNING_KEY is set (the page cannot sign its requests).',
    tag: 'operations',
    ok: { 200: { description: 'The page', types: ['text/html'] } },
    errors: [errors.rateLimited],
    rateLimited: true,
  },
  'POST /stickers/combine-from-set': {
    summary: "A set's grid, as the Python service's route takes it",
    description:
      'JSON body {"name": "Animals" (or "url": "https://t.me/addstickers/Animals"), "image_type": "main" | "thumbnail" | "thumb", "tile_size": 128, ' +
      '"max_stickers": n, "columns": n, "format": "webp" | "png"}: the grid of GET /sticker-sets/{name}/grid, with X-Sticker-Set-Name and X-Image-Type. ' +
      'Needs UPLOAD_TOKEN as POST /stickers/combine does.',
    tag: 'stickers',
    body: { description: 'The set and the layout', types: ['application/json'] },
    ok: { 200: { description: 'The grid', types: ['image/webp', 'image/png'], stickerHeaders: true } },
    errors: [errors.badBody, errors.invalidSetName, errors.setNotFound, errors.gridTooLarge, ...telegramErrors, ...conversionErrors, errors.unauthorized, errors.uploadsDisabled, errors.rateLimited, errors.internal],
    rateLimited: true,
  },
  'GET /health': {
    summary: 'Liveness',
    description: 'Touches no dependency: { status: "ok", pid, uptimeSec }.',
    tag: 'operations',
    ok: { 200: { description: 'The process answers', types: ['application/json'] } },
    errors: [],
    rateLimited: false,
  },
  'GET /health/ready': {
    summary: 'Readiness',
    description: 'Token configured and accepted by Telegram, pool state and cache tiers. "degraded" (still 200) while Redis or the disk tier is unusable.',
    tag: 'operations',
    ok: { 200: { description: 'Ready (or degraded)', types: ['application/json'] } },
    errors: [],
    rateLimited: false,
  },
  'GET /metrics': {
    summary: 'Prometheus metrics of the whole host',
    description: 'Every cluster worker summed. Absent with METRICS_ENABLED=false, and on this port when METRICS_PORT is set.',
    tag: 'operations',
    ok: { 200: { description: 'Prometheus text format', types: ['text/plain'] } },
    errors: [],
    rateLimited: false,
  },
  'GET /formats': {
    summary: 'Input formats and what each is served as',
    description: 'The formats the service recognises, their content types and their default output.',
    tag: 'operations',
    ok: { 200: { description: 'The list', types: ['application/json'] } },
    errors: [errors.rateLimited],
    rateLimited: true,
  },
  'GET /cache/stats': {
    summary: 'Cache, Telegram and upload counters summed over every worker',
    description: 'Memory, disk and Redis tiers (hits, misses, hit rate, sizes, evictions), Telegram calls, coalesced requests, RSS; per worker under processes.',
    tag: 'operations',
    ok: { 200: { description: 'The counters', types: ['application/json'] } },
    errors: [errors.rateLimited],
    rateLimited: true,
  },
  'DELETE /cache/all': {
    summary: 'Empty every cache tier',
    description: 'Removes our Redis keys (SCAN + UNLINK of REDIS_KEY_PREFIX*), the disk tier and every in-process cache. Never callable from another origin.',
    tag: 'admin',
    ok: { 200: { description: '{ status, redisKeysRemoved, diskEntriesRemoved }', types: ['application/json'] } },
    errors: [...adminErrors, errors.rateLimited],
    admin: true,
    rateLimited: true,
  },
  'DELETE /cache/{fileId}': {
    summary: 'Forget one sticker',
    description: 'Removes every variant of the sticker from Redis, the disk tier and the in-process cache of every worker and replica.',
    tag: 'admin',
    params: fileIdParam,
    ok: { 200: { description: '{ status, fileId }', types: ['application/json'] } },
    errors: [errors.invalidFileId, ...adminErrors, errors.rateLimited],
    admin: true,
    rateLimited: true,
  },
  'GET /docs': {
    summary: 'Swagger UI for this document',
    description: 'An interactive page; its assets are served from the package, so it works offline. Off with DOCS_ENABLED=false.',
    tag: 'operations',
    ok: { 200: { description: 'HTML', types: ['text/html'] } },
    errors: [errors.rateLimited],
    rateLimited: true,
  },
  'GET /docs/json': {
    summary: 'This document',
    description: 'OpenAPI 3 of every route; /docs is the interactive page and /openapi.json the path the Python service used. Off with DOCS_ENABLED=false.',
    tag: 'operations',
    ok: { 200: { description: 'OpenAPI JSON', types: ['application/json'] } },
    errors: [errors.rateLimited],
    rateLimited: true,
  },
};

/** Response headers of the sticker routes, as README documents them. */
export const STICKER_HEADERS: Record<string, string> = {
  'X-File-ID': 'The requested file id (not on POST /convert)',
  'X-Cache-Status': 'HIT (served from a cache) or MISS (fetched for this request, or joined a fetch in flight)',
  'X-Original-Format': 'tgs, webp, webm, png, jpeg or gif, from the magic bytes',
  'X-Output-Format': 'What was sent: lottie for TGS by default, otherwise the format asked for or the original',
  'X-File-Size': 'Size in bytes of the file as Telegram stores it',
  'X-Is-Converted': 'true when the bytes sent are not the file as stored',
  'X-Conversion-Time-Ms': 'Time spent in the worker pool when the entry was made',
  'X-Processing-Time-Ms': 'Time this request took inside the service',
  'X-Request-Id': 'The client\'s X-Request-Id when plain, else one the service made',
  'X-Lottie-Frames': 'Lottie output: frame count (op - ip)',
  'X-Lottie-Frame-Rate': 'Lottie output: fr',
  'X-Lottie-Dimensions': 'Lottie output: w x h',
  'X-Output-Width': 'Converted images: width in pixels',
  'X-Output-Height': 'Converted images: height in pixels',
  'X-Output-Frames': 'Converted images: frames',
  'X-Output-Duration-Ms': 'Converted animations: duration',
  'X-Preset': 'With preset: its name',
  'X-Preset-Fit': 'With preset: exact (nothing traded) or reduced',
  'X-Preset-Quality': 'With preset, for lossy formats: the quality that fit',
  'X-Preset-Fps': 'With preset, for animations: the frame rate that fit',
  'X-Preset-Size': 'With preset: the size (longer edge, or the square side) that fit',
  ETag: 'Strong validator of the bytes sent',
  'Cache-Control': 'public, max-age=CACHE_TTL_DAYS in seconds (no-store on POST /convert)',
};

export const RATE_LIMIT_HEADERS: Record<string, string> = {
  'X-RateLimit-Limit': 'Requests allowed per window (RATE_LIMIT_ENABLED)',
  'X-RateLimit-Remaining': 'Requests left in this window',
  'X-RateLimit-Reset': 'Seconds until the window resets',
};

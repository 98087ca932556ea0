/** Input formats the service recognises, detected from magic bytes rather than trusted from a file name. */
export type InputFormat = 'tgs' | 'webp' | 'webm' | 'png' | 'jpeg' | 'gif';

export const contentTypes: Record<InputFormat | 'lottie' | 'mp4' | 'apng', string> = {
  mp4: 'video/mp4',
  apng: 'image/apng',
  tgs: 'application/x-tgsticker',
  lottie: 'application/json',
  webp: 'image/webp',
  webm: 'video/webm',
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
};

export function detectFormat(b: Uint8Array): InputFormat | undefined {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'tgs';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'webm';
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 4) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  return undefined;
}

/** A plain Lottie JSON document (an upload of a .json file): an object, after an optional BOM and whitespace. */
export function looksLikeJson(b: Uint8Array): boolean {
  let i = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  return b[i] === 0x7b; // {
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

/** What GET /formats reports: what comes in and what goes out for each. */
export const supportedFormats = {
  input: {
    tgs: { description: 'Animated sticker (gzip-compressed Lottie JSON)', contentType: contentTypes.tgs },
    webp: { description: 'Static sticker, or an animated WebP', contentType: contentTypes.webp },
    webm: { description: 'Video sticker (VP9)', contentType: contentTypes.webm },
    png: { description: 'PNG image, still or animated (APNG)', contentType: contentTypes.png },
    jpeg: { description: 'JPEG image', contentType: contentTypes.jpeg },
    gif: { description: 'GIF image, still or animated', contentType: contentTypes.gif },
  },
  /** Values of ?format= each input can be served as; the first is the default. */
  conversions: {
    tgs: ['lottie', 'png', 'webp', 'gif', 'apng', 'webm', 'mp4', 'original'],
    webp: ['original', 'png', 'webp', 'gif', 'apng', 'webm', 'mp4'],
    webm: ['original', 'mp4', 'webp', 'gif', 'apng', 'png'],
    png: ['original', 'png', 'webp', 'gif', 'apng', 'webm', 'mp4'],
    jpeg: ['original', 'png', 'webp', 'gif', 'apng'],
    gif: ['original', 'png', 'webp', 'gif', 'apng', 'webm', 'mp4'],
  },
  notes:
    'TGS is served as Lottie JSON by default; clients sending Accept-Encoding: gzip receive the original gzip bytes with Content-Encoding: gzip. format=png renders one frame (size, frame, background); format=webp, gif, apng, webm and mp4 the whole animation (size, fps, quality, background, gif_alpha) of a TGS or an animated WebP/GIF/APNG, with the source timing. Video stickers convert through ffmpeg to mp4, webp, gif, apng or png (first frame), with size, fps, quality and background. webm and mp4 of a still image are 400s; format=apng of a still is its PNG. Other formats pass through unchanged by default.',
} as const;

const EXTENSIONS: Record<string, string> = { lottie: 'json', original: 'tgs', png: 'png', apng: 'apng', webp: 'webp', gif: 'gif', mp4: 'mp4', tgs: 'tgs', jpeg: 'jpg', webm: 'webm' };

/** The file extension for an output format (the CLI's files, an archive's entries). */
export const extensionFor = (output: string): string => EXTENSIONS[output] ?? 'bin';

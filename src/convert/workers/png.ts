import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { dotLottieRenderer, RendererFailure } from '../render/dotlottie.js';
import { stripExpressions } from '../render/sanitize.js';
import type { EncodeResult, ImagePngTask, RenderPngTask } from '../messages.js';

// PNG is lossless, so effort only trades CPU for size: level 6 is zlib's balance, and adaptive filtering
// helps flat sticker art.
const PNG_OPTIONS = { compressionLevel: 6, adaptiveFiltering: true } as const;

export async function renderPng(task: RenderPngTask): Promise<EncodeResult> {
  let json: string;
  try {
    const doc: unknown = JSON.parse(gunzipSync(task.gzip, { maxOutputLength: task.maxLottieBytes }).toString('utf8'));
    stripExpressions(doc);
    json = JSON.stringify(doc);
  } catch {
    return { ok: false, detail: 'the TGS could not be decompressed and parsed' };
  }
  let anim;
  try {
    anim = await dotLottieRenderer.load(json, task.width, task.height);
  } catch (err) {
    return { ok: false, detail: (err as Error).message, recycle: err instanceof RendererFailure };
  }
  try {
    if (task.frame >= anim.frames) return { ok: false, detail: `frame ${task.frame} is past the last frame (${anim.frames - 1})` };
    const rgba = Buffer.from(anim.frame(task.frame)); // a copy: the renderer reuses its buffer
    let img = sharp(rgba, { raw: { width: task.width, height: task.height, channels: 4 } });
    if (task.background) img = img.flatten({ background: { r: task.background[0], g: task.background[1], b: task.background[2] } });
    const data = await img.png(PNG_OPTIONS).toBuffer();
    return { ok: true, data, width: task.width, height: task.height, frames: 1 };
  } finally {
    anim.destroy();
  }
}

export async function imagePng(task: ImagePngTask): Promise<EncodeResult> {
  try {
    // limitInputPixels guards against decompression bombs in image headers.
    let img = sharp(task.data, { pages: 1, limitInputPixels: 64 * 1024 * 1024 });
    if (task.size) img = img.resize(task.size, task.size, { fit: 'inside' });
    if (task.background) img = img.flatten({ background: { r: task.background[0], g: task.background[1], b: task.background[2] } });
    const { data, info } = await img.png(PNG_OPTIONS).toBuffer({ resolveWithObject: true });
    return { ok: true, data, width: info.width, height: info.height, frames: 1 };
  } catch (err) {
    return { ok: false, detail: `the image could not be converted: ${(err as Error).message}` };
  }
}

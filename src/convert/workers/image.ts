import sharp from 'sharp';
import type { EncodeResult, ImageInfoResult, ImageInfoTask, ImageTask } from '../messages.js';
import { PNG_OPTIONS, rgb } from './libvips.js';
import { MAX_INPUT_PIXELS } from '../../limits.js';

// Still images (WebP, PNG, JPEG, GIF) converted, and encoded images read back, by libvips.

/** A still image (the first frame of an animated one) as PNG, WebP or GIF, fitted within size x size. */
export async function convertImage(task: ImageTask): Promise<EncodeResult> {
  try {
    let img = sharp(task.data, { pages: 1, limitInputPixels: MAX_INPUT_PIXELS });
    if (task.size) img = img.resize(task.size, task.size, { fit: 'inside' });
    if (task.background) img = img.flatten({ background: rgb(task.background) });
    img = task.format === 'webp' ? img.webp({ quality: task.quality ?? 80, effort: 4 }) : task.format === 'gif' ? img.gif() : img.png(PNG_OPTIONS);
    const { data, info } = await img.toBuffer({ resolveWithObject: true });
    return { ok: true, data, width: info.width, height: info.height, frames: 1 };
  } catch (err) {
    return { ok: false, detail: `the image could not be converted: ${(err as Error).message}` };
  }
}

export async function imageInfo(task: ImageInfoTask): Promise<ImageInfoResult> {
  try {
    const m = await sharp(task.data, { animated: true, limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    return { ok: true, width: m.width ?? 0, height: m.pageHeight ?? m.height ?? 0, frames: m.pages ?? 1, durationMs: m.delay ? m.delay.reduce((a, b) => a + b, 0) : undefined };
  } catch (err) {
    return { ok: false, detail: `the image could not be read: ${(err as Error).message}` };
  }
}

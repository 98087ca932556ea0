import sharp from 'sharp';
import type { EncodeResult, RenderPngTask } from '../messages.js';
import { withAnimation } from './animations.js';
import { PNG_OPTIONS, rgb } from './libvips.js';

/** One frame of a TGS as PNG. */
export function renderPng(task: RenderPngTask): Promise<EncodeResult> {
  return withAnimation(task, async (anim) => {
    if (task.frame >= anim.frames) return { ok: false, detail: `frame ${task.frame} is past the last frame (${anim.frames - 1})` };
    const rgba = Buffer.from(anim.frame(task.frame)); // a copy: the renderer reuses its buffer
    let img = sharp(rgba, { raw: { width: task.width, height: task.height, channels: 4 } });
    if (task.background) img = img.flatten({ background: rgb(task.background) });
    const data = await img.png(PNG_OPTIONS).toBuffer();
    return { ok: true, data, width: task.width, height: task.height, frames: 1 };
  });
}

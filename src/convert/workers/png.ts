import sharp from 'sharp';
import type { EncodeResult, RenderPngTask } from '../messages.js';
import { withAnimation } from './animations.js';
import { PNG_OPTIONS } from './libvips.js';
import { paint } from './frames.js';

/** One frame of a TGS as PNG. */
export function renderPng(task: RenderPngTask): Promise<EncodeResult> {
  return withAnimation(task, async (anim) => {
    if (task.frame >= anim.frames) return { ok: false, detail: `frame ${task.frame} is past the last frame (${anim.frames - 1})` };
    const rgba = Buffer.from(anim.frame(task.frame)); // a copy: the renderer reuses its buffer
    paint(rgba, task.tint, task.background);
    const data = await sharp(rgba, { raw: { width: task.width, height: task.height, channels: 4 } }).png(PNG_OPTIONS).toBuffer();
    return { ok: true, data, width: task.width, height: task.height, frames: 1 };
  });
}

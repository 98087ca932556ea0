import { encodeApng } from './apng.js';
import { encodeGif } from './gif.js';
import { encodeAnimatedWebp } from './webp.js';
import { withAnimation } from './animations.js';
import type { EncodeResult, RenderAnimTask } from '../messages.js';
import type { LoadedAnimation } from '../render/renderer.js';

/**
 * Frame i of the output shows the source frame at time i / fps, and its delay is rounded so the delays add
 * up to the source's duration: playback speed equals the source's whatever fps is chosen.
 */
export function timeline(sourceFrames: number, sourceFps: number, fps: number, unitMs = 1): { frames: number[]; delays: number[] } {
  // Delays are whole units (1 ms for WebP, 10 ms for GIF); rounding the cumulative time, not each delay,
  // keeps the total exact.
  const duration = (sourceFrames / sourceFps) * (1000 / unitMs);
  const count = Math.max(1, Math.round((sourceFrames * fps) / sourceFps));
  const frames: number[] = [];
  const delays: number[] = [];
  for (let i = 0; i < count; i++) {
    frames.push(Math.min(sourceFrames - 1, Math.floor((i * sourceFps) / fps)));
    delays.push((Math.round(((i + 1) * duration) / count) - Math.round((i * duration) / count)) * unitMs);
  }
  return { frames, delays };
}

/** A whole TGS as an animated WebP, GIF or APNG, looping forever with the source's timing. */
export function renderAnimated(task: RenderAnimTask): Promise<EncodeResult> {
  return withAnimation(task, async (anim) => {
    // GIF delays are 10 ms units; WebP and APNG take milliseconds.
    const { frames, delays } = timeline(anim.frames, task.sourceFps, task.fps, task.format === 'gif' ? 10 : 1);
    // Frames are rendered one at a time and encoded as they come: a whole 1024 px animation held at once
    // would be gigabytes.
    const each = () => copiedFrames(anim, frames, task.background);
    const { data, frames: written } =
      task.format === 'gif'
        ? { data: encodeGif(each(), sampleFrames(anim, frames, task.background), task, delays), frames: frames.length }
        : task.format === 'apng'
          ? await encodeApng(each(), task.width, task.height, delays) // merges repeated frames too
          : await encodeAnimatedWebp(each(), delays, task); // merges repeated frames
    return { ok: true, data, width: task.width, height: task.height, frames: written, durationMs: delays.reduce((a, b) => a + b, 0) };
  });
}

/** Up to eight frames spread over the animation, one after another in one array: the GIF palette's sample. */
function sampleFrames(anim: LoadedAnimation, frames: number[], bg?: [number, number, number]): Uint8Array {
  const step = Math.max(1, Math.floor(frames.length / 8));
  const picked = frames.filter((_, i) => i % step === 0).slice(0, 8);
  const sample = new Uint8Array(picked.length * anim.width * anim.height * 4);
  [...copiedFrames(anim, picked, bg)].forEach((f, i) => sample.set(f, i * f.length));
  return sample;
}

/**
 * Each frame copied out of the renderer's buffer (which the next frame overwrites) into an array of its own
 * (gifenc's quantize reads its sample's buffer whole), flattened onto bg, made one at a time as the encoder
 * asks.
 */
function* copiedFrames(anim: LoadedAnimation, frames: number[], bg?: [number, number, number]): Generator<Uint8Array> {
  for (const k of frames) {
    const f = new Uint8Array(anim.frame(k));
    if (bg) flattenOnto(f, bg);
    yield f;
  }
}

/** Straight-alpha RGBA composited in place onto an opaque colour. */
function flattenOnto(px: Uint8Array, [r, g, b]: [number, number, number]): void {
  for (let i = 0; i < px.length; i += 4) {
    const a = px[i + 3] / 255;
    px[i] = px[i] * a + r * (1 - a);
    px[i + 1] = px[i + 1] * a + g * (1 - a);
    px[i + 2] = px[i + 2] * a + b * (1 - a);
    px[i + 3] = 255;
  }
}

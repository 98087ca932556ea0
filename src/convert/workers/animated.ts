import { withAnimation } from './animations.js';
import { encodeAnimation } from './encode-animation.js';
import { paint, samplePixels, type Frame } from './frames.js';

type Paints = { tint?: [number, number, number]; bg?: [number, number, number] };
import type { EncodeResult, RenderAnimTask } from '../messages.js';
import type { LoadedAnimation } from '../render/renderer.js';

/**
 * Frame i of the output shows the source frame at time i / fps, and its delay is rounded so the delays add
 * up to the source's duration: playback speed equals the source's whatever fps is chosen.
 */
export function timeline(sourceFrames: number, sourceFps: number, fps: number): { frames: number[]; delays: number[] } {
  // Whole milliseconds; rounding the cumulative time, not each delay, keeps the total exact.
  const duration = (sourceFrames / sourceFps) * 1000;
  const count = Math.max(1, Math.round((sourceFrames * fps) / sourceFps));
  const frames: number[] = [];
  const delays: number[] = [];
  for (let i = 0; i < count; i++) {
    frames.push(Math.min(sourceFrames - 1, Math.floor((i * sourceFps) / fps)));
    delays.push(Math.round(((i + 1) * duration) / count) - Math.round((i * duration) / count));
  }
  return { frames, delays };
}

/** A whole TGS as an animated WebP, GIF or APNG (or WebM/MP4 through ffmpeg), looping forever with the source's timing. */
export function renderAnimated(task: RenderAnimTask): Promise<EncodeResult> {
  return withAnimation(task, async (anim) => {
    const { frames, delays } = timeline(anim.frames, task.sourceFps, task.fps);
    // Frames are rendered one at a time and encoded as they come: a whole 1024 px animation held at once
    // would be gigabytes.
    const paints = { tint: task.tint, bg: task.background };
    const each = () => lottieFrames(anim, frames, delays, paints);
    const sample = () => sampleFrames(anim, frames, paints);
    const r = await encodeAnimation(each(), sample, { format: task.format, width: task.width, height: task.height, fps: task.fps, quality: task.quality, gifAlpha: task.gifAlpha, background: task.background, ffmpegPath: task.ffmpegPath, square: task.square, compact: task.compact });
    return { ok: true, ...r, durationMs: delays.reduce((a, b) => a + b, 0) };
  });
}

/** The GIF palette's sample: pixels of frames spread over the animation. */
function sampleFrames(anim: LoadedAnimation, frames: number[], paints: Paints): Uint8Array {
  return samplePixels(frames.length, anim.width * anim.height, (i) => (lottieFrames(anim, [frames[i]], [], paints).next().value as Frame).rgba);
}

/**
 * Each frame copied out of the renderer's buffer (which the next frame overwrites) into an array of its own
 * (gifenc's quantize reads its sample's buffer whole), flattened onto bg, made one at a time as the encoder
 * asks.
 */
function* lottieFrames(anim: LoadedAnimation, frames: number[], delays: number[], paints: Paints): Generator<Frame> {
  for (let i = 0; i < frames.length; i++) {
    const rgba = new Uint8Array(anim.frame(frames[i]));
    paint(rgba, paints.tint, paints.bg);
    yield { rgba, delayMs: delays[i] ?? 0 };
  }
}

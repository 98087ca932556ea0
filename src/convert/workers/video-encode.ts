import { once } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import { MAX_VIDEO_OUTPUT_BYTES } from '../../limits.js';
import { runFfmpeg, tempFile } from '../ffmpeg-child.js';
import type { Frames } from './frames.js';

export interface VideoEncodeOptions {
  format: 'webm' | 'mp4';
  width: number;
  height: number;
  /** The rate ffmpeg is fed at; frames of other lengths are repeated to fill their time. Default 30. */
  fps?: number;
  quality: number;
  ffmpegPath: string;
}

/**
 * Frames to WebM (VP9 with alpha, as Telegram's video stickers) or MP4 (H.264, opaque: the frames come
 * composited onto a background) by an ffmpeg child fed raw RGBA on stdin as they are made, so rendering and
 * encoding run side by side on both cores. ffmpeg writes a file, not a pipe: only a seekable output gets its
 * duration and index written (players and Telegram read them).
 */
export async function encodeVideo(frames: Frames, o: VideoEncodeOptions): Promise<{ data: Uint8Array; frames: number }> {
  const fps = o.fps ?? 30;
  const out = tempFile(o.format);
  const codec =
    o.format === 'webm'
      ? // VP9 with an alpha plane, constant quality. "good" at speed 2 makes the bytes of ffmpeg's default
        // (speed 1) at the same PSNR in three quarters of its time; speed 4 made a quarter more bytes, realtime
        // twice the bytes (BENCHMARKS.md): bytes are what Telegram limits.
        ['-c:v', 'libvpx-vp9', '-pix_fmt', 'yuva420p', '-b:v', '0', '-crf', String(Math.round(60 - o.quality * 0.4)), '-deadline', 'good', '-cpu-used', '2', '-row-mt', '1', '-tile-columns', '1', '-threads', '2', '-f', 'webm']
      : ['-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(Math.round(51 - (o.quality * 33) / 100)), '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4'];
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-s', `${o.width}x${o.height}`, '-framerate', String(fps), '-i', 'pipe:0', '-an', ...codec, '-y', out];
  const { child, exit, reason } = runFfmpeg(o.ffmpegPath, args);
  child.stdout.resume(); // it writes to the file; nothing comes here
  try {
    let written = 0;
    let elapsedMs = 0;
    for await (const f of frames) {
      elapsedMs += f.delayMs;
      // As many ticks of 1/fps as the frame's time covers, counted on the running time (so the total is kept).
      const until = Math.max(written + (written === 0 ? 1 : 0), Math.round((elapsedMs * fps) / 1000));
      for (; written < until; written++) {
        if (child.exitCode !== null) break;
        if (!child.stdin.write(f.rgba)) await Promise.race([once(child.stdin, 'drain'), exit]);
      }
    }
    child.stdin.end();
    const code = await exit;
    if (code !== 0) throw new Error(`ffmpeg could not encode the ${o.format}: ${reason(code)}`);
    const data = await readFile(out);
    if (data.length > MAX_VIDEO_OUTPUT_BYTES) throw new Error(`the video is larger than ${MAX_VIDEO_OUTPUT_BYTES} bytes`);
    return { data, frames: written };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(out, { force: true });
  }
}

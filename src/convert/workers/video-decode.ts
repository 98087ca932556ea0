import { rm, writeFile } from 'node:fs/promises';
import { MAX_ANIMATION_PIXELS } from '../../limits.js';
import { runFfmpeg, tempFile } from '../ffmpeg-child.js';
import type { Frame } from './frames.js';

export interface VideoDecodeOptions {
  ffmpegPath: string;
  /** A video sticker (WebM, VP9) or an animated PNG. */
  input?: 'webm' | 'apng';
  /** Frames are taken at this rate when given (below the source's); else each frame as the video has it. */
  fps?: number;
  /** Longer edge, aspect kept; undefined keeps the source size. */
  size?: number;
  maxFrames: number;
}

/**
 * A video sticker's frames (or an animated PNG's) as straight-alpha RGBA, decoded by ffmpeg (for VP9 the
 * libvpx-vp9 decoder: ffmpeg's own drops the alpha plane), read from its PAM output (each frame carries its
 * own size). Delays come from the video's frame rate; an APNG's caller sets them from its chunks.
 * All frames are held (the GIF palette is made from a sample of them), within MAX_ANIMATION_PIXELS.
 */
export async function decodeVideo(data: Uint8Array, o: VideoDecodeOptions): Promise<{ width: number; height: number; frames: Frame[] }> {
  if (o.input !== 'apng') return decode(data, 'pipe:0', o);
  // ffmpeg's APNG reader seeks in its input: a file, not a pipe.
  const file = tempFile('apng');
  await writeFile(file, data);
  try {
    return await decode(undefined, file, o);
  } finally {
    await rm(file, { force: true });
  }
}

async function decode(data: Uint8Array | undefined, input: string, o: VideoDecodeOptions): Promise<{ width: number; height: number; frames: Frame[] }> {
  const filters = [...(o.fps ? [`fps=${o.fps}`] : []), ...(o.size ? [`scale=${o.size}:${o.size}:force_original_aspect_ratio=decrease`] : [])];
  const args = [
    '-hide_banner', '-loglevel', 'info', '-nostdin', ...(o.input === 'apng' ? ['-f', 'apng'] : ['-c:v', 'libvpx-vp9']), '-i', input, ...(filters.length ? ['-vf', filters.join(',')] : []),
    '-fps_mode', 'passthrough', '-f', 'image2pipe', '-c:v', 'pam', '-pix_fmt', 'rgba', 'pipe:1',
  ]; // prettier-ignore
  const { child, exit, reason } = runFfmpeg(o.ffmpegPath, args);
  // The input's frame rate, from ffmpeg's description of the stream (stickers are constant-rate), read
  // from the start of its output as it comes.
  let sourceFps: number | undefined;
  let head = '';
  child.stderr.on('data', (c: Buffer) => {
    if (sourceFps !== undefined || head.length > 16_384) return;
    head += c.toString();
    sourceFps = Number(/Stream #0:0[^\n]*?, ([\d.]+) fps,/.exec(head)?.[1]) || undefined;
  });
  child.stdin.end(data);
  const frames: Frame[] = [];
  let width = 0;
  let height = 0;
  let failure: string | undefined;
  // Chunks are joined only once a whole frame has arrived (joining at each chunk would copy a frame
  // many times over).
  const chunks: Buffer[] = [];
  let have = 0;
  let holding = false; // the failure is the frames held: fewer or smaller ones may do
  let need = 0; // bytes of the frame under way, header included; 0 while its header is incomplete
  child.stdout.on('data', (chunk: Buffer) => {
    if (failure) return;
    chunks.push(chunk);
    have += chunk.length;
    while (have > 0 && have >= need) {
      const pending = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, have);
      chunks.length = 0;
      chunks.push(pending);
      const end = pending.indexOf('ENDHDR\n');
      if (end < 0) return;
      const header = pending.subarray(0, end).toString('latin1');
      const w = Number(/WIDTH (\d+)/.exec(header)?.[1]);
      const h = Number(/HEIGHT (\d+)/.exec(header)?.[1]);
      const bytes = w * h * 4;
      if (!/DEPTH 4/.test(header) || !(bytes > 0)) failure = 'ffmpeg wrote frames that are not RGBA';
      else if ((frames.length + 1) * w * h > MAX_ANIMATION_PIXELS || frames.length >= o.maxFrames) {
        holding = true;
        failure = `the video has more frames than can be held (MAX_FRAMES ${o.maxFrames}, ${MAX_ANIMATION_PIXELS} pixels); ask for a smaller size or fps`;
      }
      if (failure) {
        child.kill('SIGKILL');
        return;
      }
      const start = end + 'ENDHDR\n'.length;
      need = start + bytes;
      if (have < need) return;
      // Its own memory, 4-byte aligned, for the encoders' 32-bit reads.
      frames.push({ rgba: new Uint8Array(pending.subarray(start, need)), delayMs: 0 });
      width = w;
      height = h;
      chunks[0] = pending.subarray(need);
      have -= need;
      need = 0;
    }
  });
  const code = await exit;
  if (failure) throw Object.assign(new Error(failure), { tooLarge: holding });
  if (code !== 0 || frames.length === 0) throw new Error(`ffmpeg could not decode the video: ${reason(code)}`);
  // Delays on the running time, so they add up to the video's duration.
  const fps = o.fps ?? sourceFps ?? 30;
  frames.forEach((f, i) => (f.delayMs = Math.round(((i + 1) * 1000) / fps) - Math.round((i * 1000) / fps)));
  return { width, height, frames };
}

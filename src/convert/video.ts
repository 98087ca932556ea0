import { spawnSync } from 'node:child_process';
import { runFfmpeg } from './ffmpeg-child.js';
import { errors } from '../errors.js';
import { MAX_VIDEO_OUTPUT_BYTES } from '../limits.js';
import { rgbHex } from '../model/variant.js';

export interface VideoSpec {
  /** GIF is not here: the pool's encoder writes it from decoded frames (convert/workers/video-decode.ts). */
  format: 'webp' | 'mp4' | 'png' | 'apng';
  /** Longer edge, aspect kept; undefined keeps the source size. */
  size?: number;
  /** Output frame rate, only when asked for (a rate above the source's would duplicate frames). */
  fps?: number;
  quality: number;
  /** Opaque RGB to composite onto; undefined keeps transparency (MP4 has none: black). */
  background?: [number, number, number];
  /** Every pixel takes this colour, keeping its alpha (before the background). */
  tint?: [number, number, number];
}

export interface VideoResult {
  data: Buffer;
  ms: number;
}

/**
 * Video stickers (WebM, VP9 with alpha) through an ffmpeg child process: bytes in on stdin, result out on
 * stdout, no temporary files. The libvpx-vp9 decoder is named explicitly, since ffmpeg's own VP9 decoder
 * drops the alpha channel. Killed at the deadline.
 */
export class VideoConverter {
  #available: boolean | undefined;

  constructor(private readonly ffmpeg = 'ffmpeg') {}

  /** The binary, for the pool's threads (they run it to write WebM and MP4 from rendered frames). */
  get path(): string {
    return this.ffmpeg;
  }

  get available(): boolean {
    this.#available ??= spawnSync(this.ffmpeg, ['-version'], { stdio: 'ignore' }).status === 0;
    return this.#available;
  }

  async convert(data: Buffer, spec: VideoSpec, signal?: AbortSignal): Promise<VideoResult> {
    if (!this.available) throw errors.ffmpegMissing();
    const started = performance.now();
    const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-c:v', 'libvpx-vp9', '-i', 'pipe:0', ...outputArgs(spec), 'pipe:1'];
    const { child, exit, reason } = runFfmpeg(this.ffmpeg, args);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_VIDEO_OUTPUT_BYTES) {
        tooBig = true;
        child.kill('SIGKILL');
      } else chunks.push(c);
    });
    child.stdin.end(data);
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const code = await exit;
      if (signal?.aborted) throw signal.reason;
      if (tooBig) throw errors.unrenderable(`the converted video is larger than ${MAX_VIDEO_OUTPUT_BYTES} bytes`);
      if (code !== 0) throw errors.unrenderable(`ffmpeg could not convert the video: ${reason(code)}`);
      return { data: Buffer.concat(chunks, size), ms: performance.now() - started };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }
}

/** One filter graph from the input [0:v] to [out]: frame rate, size, background, then the format's own steps. */
function outputArgs(spec: VideoSpec): string[] {
  const steps: string[] = [];
  if (spec.tint) steps.push(`format=rgba,lutrgb=r=${spec.tint[0]}:g=${spec.tint[1]}:b=${spec.tint[2]}`);
  if (spec.fps) steps.push(`fps=${spec.fps}`);
  if (spec.size) steps.push(`scale=${spec.size}:${spec.size}:force_original_aspect_ratio=decrease`);
  if (spec.format === 'mp4') steps.push('scale=trunc(iw/2)*2:trunc(ih/2)*2'); // even sizes for yuv420p
  let graph = `[0:v]${steps.join(',') || 'null'}[v]`;
  if (spec.background) {
    // A plane of the colour sized to the video (scale2ref), with the video laid over it.
    graph += `;color=c=0x${rgbHex(spec.background)}:s=16x16,format=rgba[c];[c][v]scale2ref[c][v];[c][v]overlay=shortest=1:format=rgb,format=rgb24[v]`;
  }
  const out = (tail: string) => ['-filter_complex', `${graph};[v]${tail}[out]`, '-map', '[out]'];
  switch (spec.format) {
    case 'webp':
      return [...out('null'), '-c:v', 'libwebp_anim', '-lossless', '0', '-q:v', String(spec.quality), '-loop', '0', '-f', 'webp'];
    case 'apng':
      // ffmpeg's defaults (no row filter, zlib's default level) took ~10 s and ~40 MB for a 3 s 512 px
      // clip; the "up" filter at level 2 is 2-3x faster and up to 45 % smaller (BENCHMARKS.md).
      return [...out('null'), '-c:v', 'apng', '-pred', 'up', '-compression_level', '2', '-plays', '0', '-f', 'apng'];
    case 'mp4':
      // yuv420p for players everywhere; fragmented so it can be written to a pipe.
      return [...out('null'), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(Math.round(51 - (spec.quality * 33) / 100)), '-pix_fmt', 'yuv420p', '-an', '-movflags', 'frag_keyframe+empty_moov', '-f', 'mp4'];
    case 'png':
      return [...out('null'), '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png'];
  }
}

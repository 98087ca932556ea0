/** Messages between the main thread and the pool's threads; both sides import only this file's types. */

export interface DecodeTgsTask {
  kind: 'decode-tgs';
  /** The gzip bytes; moved, not copied. */
  data: Uint8Array;
  maxLottieBytes: number;
  /** Return the decompressed JSON too (only when the asking client does not take gzip). */
  wantJson: boolean;
}

export interface LottieInfo {
  width: number;
  height: number;
  frameRate: number;
  inPoint: number;
  outPoint: number;
  frames: number;
  layers: number;
  jsonBytes: number;
}

export type DecodeTgsResult =
  | { ok: true; info: LottieInfo; json?: Uint8Array; gzip: Uint8Array }
  | { ok: false; reason: 'not-gzip' | 'truncated' | 'too-large' | 'not-json' | 'not-lottie'; detail: string; gzip: Uint8Array };

export type PoolTask = DecodeTgsTask;

/** One loaded animation, ready to render frames. Lives inside a pool thread. */
export interface LoadedAnimation {
  /** Frames from the in-point, as rlottie counts them: frame k is Lottie frame ip + k. */
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  /**
   * Renders frame k into straight (not premultiplied) RGBA, width x height x 4 bytes. The returned view
   * is the renderer's own buffer: copy it before the next call.
   */
  frame(k: number): Uint8Array;
  destroy(): void;
}

/** Loads Lottie JSON for rendering at width x height (the animation is fitted inside and centred). */
export interface Renderer {
  readonly name: string;
  load(json: string, width: number, height: number): Promise<LoadedAnimation>;
}

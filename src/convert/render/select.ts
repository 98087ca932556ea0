import type { RendererName } from '../../config.js';
import { dotLottieRenderer } from './dotlottie.js';
import { loadCanvas, lottieWebRenderer } from './lottie-web.js';
import type { Renderer } from './renderer.js';

/** The renderer called name. Throws, naming the packages to install, when lottie-web's node-canvas is missing. */
export function rendererNamed(name: RendererName): Renderer {
  if (name === 'dotlottie') return dotLottieRenderer;
  const canvas = loadCanvas();
  if (canvas instanceof Error) throw canvas;
  return lottieWebRenderer(canvas);
}

import type { LoadedAnimation, Renderer } from './renderer.js';
import { acceptedImage } from './sanitize.js';

/** The Debian packages node-canvas builds against; named in the start-up error when it is missing. */
export const CANVAS_BUILD_PACKAGES = 'libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev';

/**
 * The part of node-canvas used here, written out so that the build never needs the optional package's own
 * types: on a machine without Cairo's -dev packages node-canvas is not installed at all.
 */
interface Ctx {
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  getTransform(): { a: number; b: number; c: number; d: number };
}
interface CanvasImage {
  onload: (() => void) | null;
  onerror: ((err: Error) => void) | null;
}
interface CanvasModule {
  createCanvas(width: number, height: number): { getContext(type: '2d'): Ctx };
  Image: { new (): CanvasImage; prototype: object };
}

/** node-canvas, or why it cannot be used here (it is an optional dependency built from source). */
export function loadCanvas(): CanvasModule | Error {
  try {
    return require('canvas') as CanvasModule;
  } catch (err) {
    return new Error(`RENDERER=lottie-web needs the optional package "canvas" (node-canvas), which did not load: ${(err as Error).message.split('\n')[0]}. Install the Debian packages ${CANVAS_BUILD_PACKAGES}, then run npm ci again.`);
  }
}

interface LottiePlayer {
  totalFrames: number;
  addEventListener(name: string, fn: (e: { nativeError?: Error }) => void): void;
  goToAndStop(value: number, isFrame: boolean): void;
  destroy(): void;
}
interface Lottie {
  loadAnimation(params: Record<string, unknown>): LottiePlayer;
}

let lottie: Lottie | undefined;

/**
 * lottie-web expects a browser. The canvas renderer needs only a few globals: document.createElement
 * ('canvas') for mattes and effects (a node-canvas canvas), inert elements for everything else, and
 * navigator/window for its feature checks. Set once per thread, before lottie-web is first loaded.
 */
function ensureLottie(canvas: CanvasModule): Lottie {
  if (lottie) return lottie;
  const inert = (): Record<string, unknown> => ({ style: {}, setAttribute() {}, appendChild() {}, removeChild() {}, getContext: () => null, offsetWidth: 0, offsetHeight: 0 });
  const document = {
    readyState: 'complete',
    body: inert(),
    createElement: (type: string) => (type === 'canvas' ? canvas.createCanvas(1, 1) : type === 'img' ? embeddedImage(canvas) : inert()),
    createElementNS: () => inert(),
    getElementsByClassName: () => [],
    getElementsByTagName: () => [],
    querySelectorAll: () => [],
  };
  const g = globalThis as Record<string, unknown>;
  g.document ??= document;
  g.window ??= globalThis;
  if (typeof navigator === 'undefined') g.navigator = { userAgent: 'node' };
  g.requestAnimationFrame ??= () => 0;
  // The light canvas build has no expression support at all: a file's JavaScript is never evaluated.
  lottie = require('lottie-web/build/player/lottie_light_canvas.js') as Lottie;
  return lottie;
}

/**
 * An <img> for lottie-web's image layers that loads only embedded data: URIs of PNG or JPEG within
 * MAX_IMAGE_EDGE. node-canvas' own src setter would also read local file paths and fetch http(s) URLs, which
 * a hostile file must never make the service do; anything else fails, and lottie-web draws nothing there.
 */
function embeddedImage(canvas: CanvasModule): unknown {
  const img = new canvas.Image();
  const listeners: Record<string, () => void> = {};
  const setSource = Object.getOwnPropertyDescriptor(canvas.Image.prototype, 'src')!.set!;
  Object.defineProperty(img, 'addEventListener', { value: (type: string, fn: () => void) => (listeners[type] = fn) });
  Object.defineProperty(img, 'src', {
    set(uri: unknown) {
      const bytes = typeof uri === 'string' ? acceptedImage(uri) : undefined;
      if (!bytes) return void setImmediate(() => listeners.error?.());
      // node-canvas decodes synchronously, but lottie-web counts loads as they come while it is still adding
      // images: a load reported at once would start the animation before the rest are registered.
      img.onload = () => setImmediate(() => listeners.load?.());
      img.onerror = () => setImmediate(() => listeners.error?.());
      setSource.call(img, bytes);
    },
  });
  return img;
}

/**
 * Cairo treats a singular transform (a layer scaled to 0, common in stickers) as an error, after which the
 * context silently draws nothing more. A singular transform draws nothing anyway, so it is never passed on:
 * while one is in effect, drawing is skipped and a clip clips everything, as a browser would. (Nudging the
 * matrix to a tiny scale is not enough: pixman then overflows on image patterns and Cairo errors again.)
 */
function guardSingularTransforms(ctx: Ctx): void {
  const real = ctx as unknown as Record<string, (...args: unknown[]) => unknown>;
  const call = (name: string) => real[name].bind(ctx);
  const setTransform = call('setTransform');
  const transform = call('transform');
  const save = call('save');
  const restore = call('restore');
  const getTransform = call('getTransform') as () => ReturnType<Ctx['getTransform']>;
  const stack: boolean[] = [];
  let singular = false;
  const isSingular = (a: number, b: number, c: number, d: number) => !(Math.abs(a * d - b * c) > 0) || ![a, b, c, d].every(Number.isFinite);
  real.save = () => {
    stack.push(singular);
    save();
  };
  real.restore = () => {
    singular = stack.pop() ?? false;
    restore();
  };
  real.setTransform = (a: unknown, b = 0, c = 0, d = 1, e = 0, f = 0) => {
    if (typeof a !== 'number') return setTransform(a);
    singular = isSingular(a, b as number, c as number, d as number) || ![e, f].every(Number.isFinite);
    if (!singular) setTransform(a, b, c, d, e, f);
  };
  real.transform = (a, b, c, d, e, f) => {
    if (singular) return; // singular times anything stays singular
    const m = getTransform();
    const [na, nb, nc, nd] = [m.a * (a as number) + m.c * (b as number), m.b * (a as number) + m.d * (b as number), m.a * (c as number) + m.c * (d as number), m.b * (c as number) + m.d * (d as number)];
    singular = isSingular(na, nb, nc, nd) || ![e, f].every((v) => Number.isFinite(v as number));
    if (!singular) transform(a, b, c, d, e, f);
  };
  for (const name of ['fill', 'stroke', 'fillRect', 'strokeRect', 'drawImage', 'fillText', 'strokeText']) {
    const draw = call(name);
    real[name] = (...args: unknown[]) => (singular ? undefined : draw(...args));
  }
  const clip = call('clip');
  const beginPath = call('beginPath');
  real.clip = (...args: unknown[]) => {
    if (!singular) return clip(...args);
    beginPath(); // a zero-area clip: nothing shows until the matching restore
    clip();
  };
}

/** lottie-web's canvas renderer drawing into node-canvas (Cairo): the stack the old design named. */
export function lottieWebRenderer(canvas: CanvasModule): Renderer {
  return {
    name: 'lottie-web',
    async load(json, width, height) {
      const player = ensureLottie(canvas);
      const target = canvas.createCanvas(width, height);
      const ctx = target.getContext('2d');
      guardSingularTransforms(ctx);
      let anim: LottiePlayer;
      let failure: Error | undefined;
      try {
        anim = player.loadAnimation({
          renderer: 'canvas',
          loop: false,
          autoplay: false,
          animationData: JSON.parse(json),
          rendererSettings: { context: ctx, clearCanvas: true, preserveAspectRatio: 'xMidYMid meet' },
        });
      } catch (err) {
        throw new Error(`the renderer could not load the animation: ${String((err as Error).message).slice(0, 200)}`);
      }
      // lottie-web reports its errors as events, not exceptions; a frame that failed must not pass as drawn.
      anim.addEventListener('error', (e) => (failure = e.nativeError ?? new Error('lottie-web failed')));
      // Embedded images load asynchronously; DOMLoaded follows once everything is ready.
      await new Promise<void>((resolve, reject) => {
        anim.addEventListener('DOMLoaded', () => resolve());
        anim.addEventListener('data_failed', () => reject(new Error('the renderer could not load the animation')));
        anim.addEventListener('error', () => reject(new Error(`the renderer could not load the animation: ${failure?.message.slice(0, 200)}`)));
      }).catch((err) => {
        anim.destroy();
        throw err;
      });
      const loaded: LoadedAnimation = {
        frames: Math.round(anim.totalFrames),
        width,
        height,
        frame(k) {
          failure = undefined;
          anim.goToAndStop(k, true);
          if (failure) throw new Error(`the renderer failed on frame ${k}: ${(failure as Error).message.slice(0, 200)}`);
          // node-canvas un-premultiplies in getImageData: straight alpha, as the interface promises.
          const { data } = ctx.getImageData(0, 0, width, height);
          return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        },
        destroy: () => anim.destroy(),
      };
      return loaded;
    },
  };
}

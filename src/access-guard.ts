import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { bearerMatches } from './bearer.js';
import { errors } from './errors.js';
import { PRESET_NAMES } from './model/presets.js';
import { OUTPUT_PARAMETERS } from './sticker/variant.js';
import { verifySignature } from './url-signing.js';

// The routes that serve stickers: signed URLs and ONLY_PRESETS apply to them (POST /convert: ONLY_PRESETS).
const SERVED = ['/stickers/', '/custom-emoji/', '/sticker-sets/'];
const CHOOSERS = OUTPUT_PARAMETERS.filter((p) => p !== 'preset');
// How many verified URLs a worker remembers (cleared when full; a URL is a few hundred bytes).
const VERIFIED_URLS_MAX = 10_000;

/**
 * What makes the service safe to expose (all off by default): with URL_SIGNING_KEY, every sticker URL must
 * carry a valid `sig` (403 INVALID_SIGNATURE); with ONLY_PRESETS, output options only by a preset's name
 * (403 PRESET_REQUIRED), so a public deployment has a fixed set of variants; POST /convert needs
 * UPLOAD_TOKEN as a bearer token when one is set, and is off when signing is on without one. Nothing is
 * added to a request when all of it is off.
 */
export async function guardAccess(app: FastifyInstance, config: Config): Promise<void> {
  const { signingKeys, onlyPresets, uploadToken } = config.access;
  if (!signingKeys && !onlyPresets && !uploadToken) return;
  const keys = signingKeys?.map((k) => Buffer.from(k));
  const token = uploadToken ? Buffer.from(uploadToken) : undefined;
  const presets = [...PRESET_NAMES, ...Object.keys(config.customPresets)].join(', ');
  // URLs already verified, whole (sig included): a hit on a popular sticker costs a lookup, not an HMAC
  // (the HMAC cost a quarter of the hit throughput: BENCHMARKS.md). Only good signatures are kept.
  const verified = new Set<string>();
  app.addHook('onRequest', (req, _reply, done) => {
    const at = req.url.indexOf('?');
    const path = at < 0 ? req.url : req.url.slice(0, at);
    const query = at < 0 ? '' : req.url.slice(at + 1);
    // POST routes work on what the body names, which no URL signature covers: they take UPLOAD_TOKEN instead.
    const upload = req.method === 'POST' && (path === '/convert' || path.startsWith('/stickers/combine'));
    if (!upload && !SERVED.some((p) => path.startsWith(p))) return done();
    if (upload) {
      if (token && !bearerMatches(req.headers.authorization, token)) return done(errors.unauthorized());
      if (!token && keys) return done(errors.uploadsDisabled());
    } else if (keys && !verified.has(req.url)) {
      const sig = new URLSearchParams(query).get('sig');
      if (!sig) return done(errors.invalidSignature('the URL has no sig parameter'));
      if (!verifySignature(keys, path, query, sig)) return done(errors.invalidSignature('sig does not match the URL'));
      if (verified.size >= VERIFIED_URLS_MAX) verified.clear();
      verified.add(req.url);
    }
    // A grid's format, tile and columns shape a contact sheet, not a sticker variant.
    if (onlyPresets && query && !path.endsWith('/grid')) {
      const params = new URLSearchParams(query);
      if (CHOOSERS.some((p) => params.has(p))) return done(errors.presetRequired(presets));
    }
    done();
  });
}

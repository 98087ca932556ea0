import type { StickerService, Served } from './service.js';
import { resolveVariant, withAutoFormat, type VariantQuery } from './variant.js';

export interface ServeOptions {
  gzip: boolean;
  startedAt: number;
  /** The Accept header, for format=auto. */
  accept: string | undefined;
  maxOutputSize: number;
  /** Called before a conversion runs (the conversion budget); a cached variant never calls it. */
  beforeConvert?: () => Promise<void>;
}

/**
 * A sticker as the query asks for it: the stored sticker first (cache, Redis or Telegram), then the variant
 * made from it, or the stored bytes when the query asks for nothing else. `auto` says whether the answer
 * depended on Accept (the response then varies on it).
 */
export async function serveVariant(stickers: StickerService, fileId: string, query: VariantQuery, o: ServeOptions): Promise<{ served: Served; auto: boolean }> {
  const base = await stickers.fetch(fileId, true, o.startedAt);
  const auto = query.format === 'auto';
  const q = auto ? withAutoFormat(query, o.accept, base.entry.original) : query;
  const spec = resolveVariant(q, base.entry, o.maxOutputSize);
  if (spec.kind === 'as-stored') return { served: await stickers.asStored(fileId, base, o.gzip, o.startedAt), auto };
  return { served: await stickers.variant(fileId, base.entry, spec, o.startedAt, o.beforeConvert), auto };
}

// A Telegram sticker set as the service lists it (getStickerSet's result, read defensively).

export type StickerKind = 'static' | 'animated' | 'video';

export interface SetSticker {
  fileId: string;
  fileUniqueId: string;
  emoji: string | undefined;
  kind: StickerKind;
  width: number;
  height: number;
  /** Custom emoji drawn in the text colour by Telegram (tint them as the client would). */
  needsRepainting: boolean;
  /** The thumbnail's file id (WebP or JPEG), when the set has one per sticker. */
  thumbnailFileId: string | undefined;
  /** A custom emoji's id (what messages refer to it by). */
  customEmojiId: string | undefined;
}

export interface StickerSet {
  name: string;
  title: string;
  /** regular, mask or custom_emoji. */
  stickerType: string;
  stickers: SetSticker[];
}

/** Telegram's set names: letters, digits and underscores (bots' sets end in _by_<bot>), at most 64. */
export const SET_NAME = /^[A-Za-z0-9_]{1,64}$/;

/** getStickerSet's result as a StickerSet; `fail` makes the error for a result without the fields it must have. */
export function parseStickerSet(result: unknown, fail: (why: string) => Error): StickerSet {
  const r = (result ?? {}) as Record<string, unknown>;
  if (typeof r.name !== 'string' || !Array.isArray(r.stickers)) throw fail('a result without name or stickers');
  const stickers = r.stickers.map((s: unknown) => parseSticker(s, fail));
  return { name: r.name, title: typeof r.title === 'string' ? r.title : r.name, stickerType: typeof r.sticker_type === 'string' ? r.sticker_type : 'regular', stickers };
}

/** One of the Bot API's Sticker objects (in a set, or from getCustomEmojiStickers), read defensively. */
export function parseSticker(sticker: unknown, fail: (why: string) => Error): SetSticker {
  const s = (sticker ?? {}) as Record<string, unknown>;
  if (typeof s.file_id !== 'string' || typeof s.file_unique_id !== 'string') throw fail('a sticker without file_id');
  const thumb = (s.thumbnail ?? s.thumb) as Record<string, unknown> | undefined;
  return {
    fileId: s.file_id,
    fileUniqueId: s.file_unique_id,
    emoji: typeof s.emoji === 'string' ? s.emoji : undefined,
    kind: s.is_video === true ? 'video' : s.is_animated === true ? 'animated' : 'static',
    width: typeof s.width === 'number' ? s.width : 0,
    height: typeof s.height === 'number' ? s.height : 0,
    needsRepainting: s.needs_repainting === true,
    thumbnailFileId: typeof thumb?.file_id === 'string' ? thumb.file_id : undefined,
    customEmojiId: typeof s.custom_emoji_id === 'string' ? s.custom_emoji_id : undefined,
  };
}

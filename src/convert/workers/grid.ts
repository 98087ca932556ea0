import sharp from 'sharp';
import type { EncodeResult, GridTask } from '../messages.js';
import { PNG_OPTIONS, rgb } from './libvips.js';

/**
 * Tiles (PNG, each within tile x tile) laid out in a grid, row by row, each centred in its cell; a missing
 * tile leaves its cell empty. One image, encoded as WebP or PNG.
 */
export async function composeGrid(task: GridTask): Promise<EncodeResult> {
  try {
    const { tile, columns, width, height } = task;
    const placed = await Promise.all(
      task.tiles.map(async (data, i) => {
        if (!data) return undefined;
        const { width: w = tile, height: h = tile } = await sharp(data).metadata();
        const left = (i % columns) * tile + Math.max(0, Math.floor((tile - w) / 2));
        const top = Math.floor(i / columns) * tile + Math.max(0, Math.floor((tile - h) / 2));
        return { input: Buffer.from(data.buffer, data.byteOffset, data.byteLength), left, top };
      }),
    );
    const background = task.background ? { ...rgb(task.background), alpha: 1 } : { r: 0, g: 0, b: 0, alpha: 0 };
    let img = sharp({ create: { width, height, channels: 4, background } }).composite(placed.filter((p) => p !== undefined));
    img = task.format === 'webp' ? img.webp({ quality: task.quality, effort: 4, alphaQuality: 100 }) : img.png(PNG_OPTIONS);
    const { data, info } = await img.toBuffer({ resolveWithObject: true });
    return { ok: true, data, width: info.width, height: info.height, frames: 1, still: true };
  } catch (err) {
    return { ok: false, detail: `the grid could not be made: ${(err as Error).message}` };
  }
}

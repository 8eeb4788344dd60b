import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import Mustache from 'mustache';
import { LAYER_COMPRESSION, compressStream } from './compress.js';
import { tarToCpio } from './cpio.js';
import { Layer } from './layer.js';

/**
 * Stage: the site layer, rebuilt on every build because it is small: the
 * overlay/ tree with `*.mustache` files rendered against the node's context,
 * plus /etc/carpenter/{site.ini,board.ini,node,modules,build.json}.
 */
export interface SiteLayerInput {
  overlayDir: string;
  /** The mustache view: site + node context. */
  context: object;
  /** Extra files keyed by path (e.g. etc/carpenter/site.ini). */
  files: Record<string, string>;
  epoch: number;
}

/** Render the overlay tree into a layer. Exported for template unit tests. */
export async function renderOverlay(layer: Layer, dir: string, context: object, rel = ''): Promise<void> {
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const relPath = rel ? posix.join(rel, name) : name;
    const abs = join(dir, relPath);
    const st = await lstat(abs);
    if (st.isSymbolicLink()) layer.symlink(relPath, await readlink(abs));
    else if (st.isDirectory()) {
      layer.dir(relPath, 0o755);
      await renderOverlay(layer, dir, context, relPath);
    } else {
      // Only the executable bit is meaningful in git; everything else is normalised.
      const mode = st.mode & 0o111 ? 0o755 : 0o644;
      const text = await readFile(abs);
      if (name.endsWith('.mustache')) {
        const rendered = Mustache.render(text.toString('utf8'), context, {}, { escape: (s: string) => s });
        layer.file(relPath.slice(0, -'.mustache'.length), rendered, mode, 'overlay');
      } else {
        layer.file(relPath, text, mode, 'overlay');
      }
    }
  }
}

export async function buildSiteLayer(input: SiteLayerInput, outImage: string, scratchTar: string): Promise<Layer> {
  const layer = new Layer('site');
  await renderOverlay(layer, input.overlayDir, input.context);
  for (const [path, data] of Object.entries(input.files)) layer.file(path, data, 0o644, 'site');
  await layer.writeTar(scratchTar, input.epoch);
  await compressStream(tarToCpio(scratchTar), outImage, LAYER_COMPRESSION.light);
  return layer;
}

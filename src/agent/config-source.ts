import { readFile } from 'node:fs/promises';
import { ConfigErrors } from '../config/errors.js';
import { parseSite } from '../config/site.js';
import type { Site } from '../config/types.js';
import type { StateStore } from './store.js';

/**
 * Which site config is active: the state dir's (the last one accepted, which
 * survives reboots on the config partition), else the factory file baked into
 * the image (or given with --site), which is then recorded as revision 1.
 */
export interface ActiveConfig {
  site: Site;
  text: string;
  revision: number;
  source: string;
}

export async function loadActiveConfig(store: StateStore, factoryPath: string, node: string): Promise<ActiveConfig> {
  const stored = await store.readSite();
  if (stored !== undefined) {
    try {
      const site = parseSite(stored, store.sitePath);
      requireNode(site, node, store.sitePath);
      return { site, text: stored, revision: await store.currentRevision(), source: store.sitePath };
    } catch (err) {
      // A damaged stored config must not brick the node: fall back to the factory file, loudly.
      const why = err instanceof ConfigErrors ? err.message : String(err);
      process.stderr.write(`carpd: stored config ${store.sitePath} is invalid, using factory config:\n${why}\n`);
    }
  }
  const text = await readFile(factoryPath, 'utf8');
  const site = parseSite(text, factoryPath);
  requireNode(site, node, factoryPath);
  const rev = await store.commitSite(text, { by: 'carpd', from: 'factory', note: `initial config from ${factoryPath}` });
  return { site, text, revision: rev.revision, source: factoryPath };
}

export function requireNode(site: Site, node: string, file: string): void {
  if (!site.nodes.some((n) => n.name === node)) {
    throw new Error(`${file}: no [node "${node}"] section (nodes: ${site.nodes.map((n) => n.name).join(', ')})`);
  }
}

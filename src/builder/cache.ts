import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Content-addressed stage cache: `<root>/<stage>/<key>/` holds what a stage
 * produced from inputs whose hash is `key`. Entries appear atomically (built in
 * a temp dir, then renamed), so an interrupted build never leaves a half entry
 * that a later build would trust.
 */
export class StageCache {
  constructor(readonly root: string) {}

  async get(
    stage: string,
    key: string,
    produce: (dir: string) => Promise<void>,
  ): Promise<{ dir: string; hit: boolean }> {
    const dir = join(this.root, stage, key);
    if (await exists(dir)) return { dir, hit: true };
    const tmp = join(this.root, stage, `.tmp-${key.slice(0, 16)}-${process.pid}-${Date.now()}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    try {
      await produce(tmp);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return { dir, hit: false };
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

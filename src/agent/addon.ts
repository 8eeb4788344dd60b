import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * The packaged carpd is one executable: the raw-socket addon travels inside
 * it as a SEA asset ("raw.node"). Before first use it is written to a tmpfs
 * (PKG_NATIVE_CACHE_PATH, /run/carpd on an appliance: not noexec) and
 * CARPD_ADDON points there, which is where src/native/raw.ts loads it from.
 * Outside a SEA (tests, a checkout) nothing happens: raw.ts finds
 * out/native/raw.node or CARPD_ADDON as usual.
 */
export function prepareAddon(): void {
  if (process.env.CARPD_ADDON) return;
  let sea: { isSea(): boolean; getAsset(key: string): ArrayBuffer };
  try {
    sea = createRequire(__filename)('node:sea') as typeof sea;
  } catch {
    return; // Node without SEA support, or not a CommonJS bundle
  }
  if (!sea.isSea()) return;
  let bytes: Buffer;
  try {
    bytes = Buffer.from(sea.getAsset('raw.node'));
  } catch {
    return; // built without the addon
  }
  const dir = process.env.PKG_NATIVE_CACHE_PATH || '/run/carpd';
  const path = join(dir, `raw-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.node`);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}`;
    writeFileSync(tmp, bytes, { mode: 0o755 });
    renameSync(tmp, path);
  }
  process.env.CARPD_ADDON = path;
}

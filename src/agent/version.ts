/** carpd's version: baked in by the image build (esbuild define), else the checkout's package.json. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function carpdVersion(): string {
  const baked = process.env.CARPD_BUILD_VERSION;
  if (baked) return baked;
  try {
    // dist/src/agent/version.js -> package.json three levels up
    const here = typeof __dirname !== 'undefined' ? __dirname : dirname(new URL(import.meta.url).pathname);
    return JSON.parse(readFileSync(join(here, '../../../package.json'), 'utf8')).version as string;
  } catch {
    return '0.0.0-dev';
  }
}

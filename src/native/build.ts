/**
 * Builds the raw-socket addon (src/native/raw.c) into `<outDir>/raw.node`.
 *
 * No node-gyp: one `cc` call against the Node-API headers of the npm package
 * node-api-headers, so the result loads in Node 20 (tests) and Node 22 (the
 * packaged carpd) alike. The compile is skipped when `<outDir>/raw.node.sha256`
 * matches the hash of the source, the flags and the compiler path. The output
 * is written to a temporary name and renamed, so concurrent test processes
 * can all call buildAddon() on the same outDir.
 *
 * As a script:  node dist/src/native/build.js [outDir]   (prints the path)
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/**
 * Repository root, whether running from src/native (ts loaders) or dist/src/native.
 * Computed on call, not at import: carpd's CommonJS bundle imports this file
 * through raw.ts, and there import.meta.url is undefined (the packaged carpd
 * always has CARPD_ADDON set, so it never gets here).
 */
export function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const root = resolve(here, up);
    if (existsSync(join(root, 'src/native/raw.c'))) return root;
  }
  return resolve(here, '../../..');
}

/** Where the rig and tests build the addon by default (out/ is git-ignored). */
export function defaultOutDir(): string {
  return join(repoRoot(), 'out', 'native');
}

export const CFLAGS = ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-std=gnu11'];

export interface BuildOptions {
  /** C compiler; default $CC or `cc`. */
  cc?: string;
  /** Source file; default src/native/raw.c of this repository. */
  source?: string;
  /** Directory holding node_api.h; default node-api-headers/include. */
  includeDir?: string;
  /** Rebuild even if the hash matches. */
  force?: boolean;
}

export function sourcePath(): string {
  return join(repoRoot(), 'src', 'native', 'raw.c');
}

export function nodeApiIncludeDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('node-api-headers/package.json')), 'include');
  } catch {
    return join(repoRoot(), 'node_modules', 'node-api-headers', 'include');
  }
}

/** Compile raw.c to `<outDir>/raw.node` if needed; resolves to that path. */
export async function buildAddon(outDir: string = defaultOutDir(), opts: BuildOptions = {}): Promise<string> {
  const cc = opts.cc ?? process.env.CC ?? 'cc';
  const source = opts.source ?? sourcePath();
  const include = opts.includeDir ?? nodeApiIncludeDir();
  if (!existsSync(join(include, 'node_api.h'))) {
    throw new Error(`node_api.h not found in ${include}: install the dev dependency node-api-headers (npm ci)`);
  }
  const src = await readFile(source);
  const hash = createHash('sha256')
    .update(src)
    .update('\0' + CFLAGS.join(' ') + '\0' + cc)
    .digest('hex');
  await mkdir(outDir, { recursive: true });
  const out = join(outDir, 'raw.node');
  const stamp = out + '.sha256';
  if (!opts.force && existsSync(out)) {
    const old = await readFile(stamp, 'utf8').catch(() => '');
    if (old.trim() === hash) return out;
  }
  const tmp = `${out}.${process.pid}.${Date.now()}.tmp`;
  try {
    await execa(cc, [...CFLAGS, '-I', include, source, '-o', tmp], { all: true });
  } catch (err) {
    await rm(tmp, { force: true });
    const e = err as { code?: string; all?: string; shortMessage?: string; message: string };
    if (e.code === 'ENOENT' || e.code === 'EACCES') {
      throw new Error(`C compiler '${cc}' not found (${e.code}): install the Debian package gcc (apt-get install gcc), or set CC`);
    }
    throw new Error(`compiling ${source} failed: ${e.shortMessage ?? e.message}\n${e.all ?? ''}`.trimEnd());
  }
  await rename(tmp, out);
  await writeFile(stamp + `.${process.pid}.tmp`, hash + '\n');
  await rename(stamp + `.${process.pid}.tmp`, stamp);
  return out;
}

// Run as a script (`node dist/src/native/build.js [outDir]`). import.meta.url is
// checked first: in carpd's CommonJS bundle it is undefined and this must not throw.
if (import.meta.url && process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildAddon(process.argv[2] ? resolve(process.argv[2]) : defaultOutDir()).then(
    (path) => console.log(path),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}

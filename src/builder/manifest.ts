import { readFile } from 'node:fs/promises';
import ini from 'ini';
import { UserError } from '../util/errors.js';

/** build/packages.ini: which Debian packages make the appliance's base layer. */
export interface PackageManifest {
  file: string;
  text: string;
  suite: string;
  arch: string;
  include: string[];
  exclude: string[];
  prune: string[];
  commonModules: string[];
}

const list = (v: unknown): string[] =>
  String(v ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

export async function loadManifest(file: string): Promise<PackageManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read package manifest ${file}: ${(err as Error).message}`);
  }
  const doc = ini.parse(text) as Record<string, Record<string, unknown> | undefined>;
  const include = list(doc.include?.packages);
  if (include.length === 0) throw new UserError(`${file}: [include] packages is empty`);
  return {
    file,
    text,
    suite: String(doc.debian?.suite ?? 'bookworm'),
    arch: String(doc.debian?.arch ?? 'amd64'),
    include,
    exclude: list(doc.exclude?.packages),
    prune: list(doc.prune?.paths),
    commonModules: list(doc.modules?.common),
  };
}

/** Glob with `*` (no slash) and `**` (anything), anchored at both ends. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function pruneMatcher(globs: string[]): (path: string) => boolean {
  const res = globs.map(globToRegExp);
  // "a/**" also matches the directory "a" itself
  const dirs = globs.filter((g) => g.endsWith('/**')).map((g) => globToRegExp(g.slice(0, -3)));
  return (path) => res.some((r) => r.test(path)) || dirs.some((r) => r.test(path));
}

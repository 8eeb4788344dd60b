import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../util/errors.js';

/**
 * Kernel module selection: the image carries only the modules its board and
 * every appliance need, plus what they depend on. Dependencies come from
 * running the host's depmod over the package's full module tree; the kept
 * subset gets its own modules.dep/alias from a second depmod run.
 */

/** "kernel/net/foo-bar.ko" -> "foo_bar" (module names treat - and _ alike). */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1).replace(/\.ko(\.(xz|zst|gz))?$/, '');
  return base.replace(/-/g, '_');
}

/** Parse modules.dep: "kernel/a.ko: kernel/b.ko kernel/c.ko" per line. */
export function parseModulesDep(text: string): Map<string, { path: string; deps: string[] }> {
  const map = new Map<string, { path: string; deps: string[] }>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean);
    map.set(moduleName(path), { path, deps });
  }
  return map;
}

/** Parse modules.softdep: "softdep ext4 pre: crc32c" -> ext4 -> [crc32c]. */
export function parseSoftdeps(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^softdep\s+(\S+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const names = m[2]!.split(/\s+/).filter((w) => w && !w.endsWith(':'));
    map.set(m[1]!.replace(/-/g, '_'), names.map((n) => n.replace(/-/g, '_')));
  }
  return map;
}

export interface ModuleSelection {
  /** Paths relative to lib/modules/<version>/, sorted. */
  paths: string[];
  /** Requested names that are built into the kernel (nothing to ship). */
  builtin: string[];
}

/**
 * The closure of `wanted` under hard dependencies and soft "pre/post"
 * dependencies (softdeps that name no module file, like crypto aliases, are
 * skipped: list the provider explicitly, e.g. crc32c_generic).
 */
export function selectModules(
  wanted: string[],
  dep: Map<string, { path: string; deps: string[] }>,
  softdeps: Map<string, string[]>,
  builtin: Set<string>,
): ModuleSelection {
  const paths = new Set<string>();
  const builtinHit: string[] = [];
  const unknown: string[] = [];
  const visit = (name: string, soft: boolean) => {
    const n = name.replace(/-/g, '_');
    const entry = dep.get(n);
    if (!entry) {
      if (builtin.has(n)) builtinHit.push(n);
      else if (!soft) unknown.push(n);
      return;
    }
    if (paths.has(entry.path)) return;
    paths.add(entry.path);
    for (const d of entry.deps) visit(moduleName(d), false);
    for (const s of softdeps.get(n) ?? []) visit(s, true);
  };
  for (const w of wanted) visit(w, false);
  if (unknown.length > 0) {
    throw new UserError(
      `unknown kernel module${unknown.length > 1 ? 's' : ''}: ${[...new Set(unknown)].sort().join(', ')}`,
      'check the [modules] lists in the board file and build/packages.ini against the kernel package',
    );
  }
  return { paths: [...paths].sort(), builtin: [...new Set(builtinHit)].sort() };
}

export async function depmod(root: string, version: string): Promise<void> {
  await execa('depmod', ['-b', root, version]);
}

export async function readModuleIndex(root: string, version: string) {
  const dir = join(root, 'lib/modules', version);
  const dep = parseModulesDep(await readFile(join(dir, 'modules.dep'), 'utf8'));
  const softdeps = parseSoftdeps(await readFile(join(dir, 'modules.softdep'), 'utf8').catch(() => ''));
  const builtinText = await readFile(join(dir, 'modules.builtin'), 'utf8').catch(() => '');
  const builtin = new Set(builtinText.split('\n').filter(Boolean).map(moduleName));
  return { dep, softdeps, builtin };
}

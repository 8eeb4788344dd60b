import { chmod, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import type { StageCache } from './cache.js';
import { LAYER_COMPRESSION, compressStream } from './compress.js';
import { tarToCpio } from './cpio.js';
import { readDeb } from './deb.js';
import { isElf, neededLibraries } from './elf.js';
import { depmod, readModuleIndex, selectModules } from './kmod.js';
import { Layer } from './layer.js';
import { pruneMatcher, type PackageManifest } from './manifest.js';
import type { PackageSet } from './packages.js';

/**
 * Stage: the base layer. Unpacks the fetched .debs (minus excluded packages
 * and pruned paths), keeps only the kernel modules the board needs, adds
 * busybox applet links and the few device nodes the kernel wants before
 * /init runs, checks every ELF program finds its libraries, and writes the
 * result as a zstd-compressed cpio plus the kernel image beside it.
 */
export interface BaseLayerResult {
  dir: string;
  cached: boolean;
  /** The compressed cpio, ready to be an initrd. */
  image: string;
  vmlinuz: string;
  meta: BaseLayerMeta;
}

export interface BaseLayerMeta {
  kernelVersion: string;
  packages: { package: string; version: string; bytes: number }[];
  excluded: string[];
  modules: number;
  files: number;
  bytes: number;
}

const LIB_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib', 'usr/lib', 'lib64', 'usr/lib64'];

export async function buildBaseLayer(opts: {
  manifest: PackageManifest;
  packages: PackageSet;
  boardModules: string[];
  cache: StageCache;
  epoch: number;
}): Promise<BaseLayerResult> {
  const modules = [...new Set([...opts.manifest.commonModules, ...opts.boardModules])].sort();
  const key = sha256('base-v2', opts.packages.key, opts.manifest.text, modules.join(','), String(opts.epoch));
  const { dir, hit } = await opts.cache.get('base', key, async (tmp) => {
    const meta = await assemble(tmp, opts.manifest, opts.packages, modules, opts.epoch);
    await writeFile(join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  });
  const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as BaseLayerMeta;
  return { dir, cached: hit, image: join(dir, 'base.img'), vmlinuz: join(dir, 'vmlinuz'), meta };
}

async function assemble(
  out: string,
  manifest: PackageManifest,
  packages: PackageSet,
  wantedModules: string[],
  epoch: number,
): Promise<BaseLayerMeta> {
  const layer = new Layer('base');
  const pruned = pruneMatcher(manifest.prune);
  const excluded = new Set(manifest.exclude);
  const modTree = join(out, 'modules-all');
  let kernelVersion = '';
  const pkgMeta: BaseLayerMeta['packages'] = [];

  for (const p of packages.packages) {
    if (excluded.has(p.package)) continue;
    const deb = await readDeb(join(packages.dir, p.file));
    const byPath = new Map(deb.files.map((f) => [f.path, f]));
    let bytes = 0;
    for (const f of deb.files) {
      const kmod = /^lib\/modules\/([^/]+)\/(.+)$/.exec(f.path);
      if (kmod) {
        // Every module file goes to a scratch tree for depmod; the layer gets the chosen ones later.
        kernelVersion = kmod[1]!;
        if (f.type === 'file') {
          const dest = join(modTree, f.path);
          await mkdir(dirname(dest), { recursive: true });
          await writeFile(dest, f.data);
        }
        continue;
      }
      if (/^boot\/vmlinuz-/.test(f.path)) {
        await writeFile(join(out, 'vmlinuz'), f.data);
        continue;
      }
      if (pruned(f.path)) continue;
      const origin = p.package;
      if (f.type === 'directory') layer.dir(f.path, f.mode);
      else if (f.type === 'symlink') layer.symlink(f.path, f.linkname ?? '');
      else if (f.type === 'link') {
        // Hard links become copies: cpio hard links only work within one archive and the saving is tiny.
        const target = byPath.get(f.linkname ?? '');
        if (!target) throw new Error(`${p.file}: hard link ${f.path} -> ${f.linkname} has no target`);
        layer.file(f.path, target.data, target.mode, origin);
        bytes += target.data.length;
      } else {
        layer.file(f.path, f.data, f.mode, origin);
        bytes += f.data.length;
      }
    }
    pkgMeta.push({ package: p.package, version: p.version, bytes });
  }
  if (!kernelVersion) throw new UserError('no kernel modules found: is a linux-image package in [include]?');

  // Kernel modules: closure over the full tree's dependencies, then a depmod of the kept set.
  await depmod(modTree, kernelVersion);
  const index = await readModuleIndex(modTree, kernelVersion);
  const selection = selectModules(wantedModules, index.dep, index.softdeps, index.builtin);
  const keepTree = join(out, 'modules-kept');
  const modDir = `lib/modules/${kernelVersion}`;
  for (const rel of [...selection.paths, 'modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
    const dest = join(keepTree, modDir, rel);
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(join(modTree, modDir, rel), dest).catch((err) => {
      if (rel.endsWith('.ko')) throw err; // index files are optional
    });
  }
  await depmod(keepTree, kernelVersion);
  for (const rel of await listFiles(join(keepTree, modDir))) {
    layer.file(posix.join(modDir, rel), await readFile(join(keepTree, modDir, rel)), 0o644, 'kernel');
  }
  await rm(modTree, { recursive: true, force: true });
  await rm(keepTree, { recursive: true, force: true });

  await addBusyboxApplets(layer, out);
  addSkeleton(layer);
  checkSharedLibraries(layer);

  const tarPath = join(out, 'base.tar');
  await layer.writeTar(tarPath, epoch);
  await compressStream(tarToCpio(tarPath), join(out, 'base.img'), LAYER_COMPRESSION.heavy);
  await rm(tarPath);
  return {
    kernelVersion,
    packages: pkgMeta,
    excluded: [...excluded].sort(),
    modules: selection.paths.length,
    files: layer.entries.size,
    bytes: layer.contentBytes,
  };
}

async function listFiles(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(root, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/** Symlink every busybox applet that no package already provides. */
async function addBusyboxApplets(layer: Layer, scratch: string): Promise<void> {
  const bb = layer.entries.get('bin/busybox');
  if (!bb?.data) throw new UserError('busybox-static is missing from [include] in build/packages.ini');
  const exe = join(scratch, 'busybox');
  await writeFile(exe, bb.data);
  await chmod(exe, 0o755);
  const { stdout } = await execa(exe, ['--list-full']);
  await rm(exe);
  const BIN_DIRS = ['bin', 'sbin', 'usr/bin', 'usr/sbin'];
  for (const applet of stdout.split('\n').map((s) => s.trim()).filter(Boolean)) {
    // A real program of that name anywhere on PATH wins (e.g. iproute2's /bin/ip over busybox's /sbin/ip).
    const name = applet.slice(applet.lastIndexOf('/') + 1);
    if (BIN_DIRS.some((d) => layer.has(`${d}/${name}`))) continue;
    layer.symlink(applet, '/bin/busybox');
  }
}

/** Mount points, and /dev/console: the kernel opens it for /init before devtmpfs is mounted. */
function addSkeleton(layer: Layer): void {
  for (const d of ['proc', 'sys', 'dev', 'run', 'cfg', 'mnt', 'var/log', 'var/lib', 'etc']) layer.dir(d);
  layer.dir('tmp', 0o1777);
  layer.dir('root', 0o700);
  layer.add({ path: 'dev/console', type: 'char', mode: 0o600, devmajor: 5, devminor: 1 });
  layer.add({ path: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 });
  // bookworm packages are not usr-merged in extract mode; keep /var/run working for old tools
  if (!layer.has('var/run')) layer.symlink('var/run', '/run');
}

function checkSharedLibraries(layer: Layer): void {
  const missing: string[] = [];
  for (const e of layer.entries.values()) {
    if (e.type !== 'file' || !e.data || !isElf(e.data)) continue;
    for (const lib of neededLibraries(e.data)) {
      if (!LIB_DIRS.some((d) => layer.has(`${d}/${lib}`))) missing.push(`/${e.path} needs ${lib}`);
    }
  }
  if (missing.length > 0) {
    throw new UserError(
      `base layer: ${missing.length} missing shared librar${missing.length > 1 ? 'ies' : 'y'}:\n  ${missing.slice(0, 20).join('\n  ')}`,
      'a package in [exclude] of build/packages.ini is still needed',
    );
  }
}

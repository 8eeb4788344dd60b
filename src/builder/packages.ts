import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../util/errors.js';
import { sha256 } from '../util/hash.js';
import type { StageCache } from './cache.js';
import type { PackageManifest } from './manifest.js';

/**
 * Stage: resolve the manifest's packages with their dependencies and download
 * the .debs. mmdebstrap does the resolving against the host's configured
 * mirror; its "extract" variant runs no maintainer scripts. The result (the
 * .deb files and a lock listing them) is cached by the manifest's hash, so a
 * warm rebuild never touches the network.
 */
export interface FetchedPackage {
  package: string;
  version: string;
  file: string;
  bytes: number;
}

export interface PackageSet {
  dir: string;
  key: string;
  packages: FetchedPackage[];
  cached: boolean;
}

async function aptSourcesFingerprint(): Promise<string> {
  const parts: string[] = [];
  for (const f of ['/etc/apt/sources.list']) {
    parts.push(await readFile(f, 'utf8').catch(() => ''));
  }
  const d = '/etc/apt/sources.list.d';
  for (const f of (await readdir(d).catch(() => [] as string[])).sort()) {
    parts.push(f, await readFile(join(d, f), 'utf8').catch(() => ''));
  }
  return sha256(...parts);
}

function debName(file: string): { package: string; version: string } {
  // name_version_arch.deb, with ':' in versions escaped as %3a by apt
  const [pkg = file, version = ''] = file.replace(/\.deb$/, '').split('_');
  return { package: pkg, version: decodeURIComponent(version) };
}

export async function fetchPackages(manifest: PackageManifest, cache: StageCache): Promise<PackageSet> {
  const include = [...manifest.include].sort();
  const key = sha256('packages-v1', manifest.suite, manifest.arch, include.join(','), await aptSourcesFingerprint());
  const { dir, hit } = await cache.get('packages', key, async (tmp) => {
    const debs = join(tmp, 'debs');
    const args = [
      '--quiet',
      '--variant=extract',
      `--architectures=${manifest.arch}`,
      `--include=${include.join(',')}`,
      `--extract-hook=sync-out /var/cache/apt/archives ${debs}`,
      manifest.suite,
      '/dev/null',
    ];
    const r = await execa('mmdebstrap', args, { reject: false, all: true });
    if (r.exitCode !== 0) {
      const tail = (r.all ?? '').split('\n').filter((l) => /^E:|error|unable/i.test(l)).slice(-5).join('\n');
      throw new UserError(
        `fetching Debian packages failed (mmdebstrap exit ${r.exitCode})\n${tail || (r.all ?? '').slice(-2000)}`,
        `check ${manifest.file} and that the apt mirror in /etc/apt/sources.list is reachable`,
      );
    }
    const files = (await readdir(debs)).filter((f) => f.endsWith('.deb')).sort();
    const lock: FetchedPackage[] = [];
    for (const file of files) lock.push({ ...debName(file), file, bytes: (await stat(join(debs, file))).size });
    await writeFile(join(tmp, 'lock.json'), JSON.stringify(lock, null, 2) + '\n');
  });
  const packages = JSON.parse(await readFile(join(dir, 'lock.json'), 'utf8')) as FetchedPackage[];
  return { dir: join(dir, 'debs'), key, packages, cached: hit };
}

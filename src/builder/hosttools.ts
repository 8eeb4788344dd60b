import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { UserError } from '../util/errors.js';

/**
 * Every host program or file the builder runs or reads, with the Debian
 * package that provides it, so a missing one is reported as
 * "missing host tool X (apt-get install Y)" before any work starts.
 */
export const HOST_TOOLS: Record<string, string> = {
  mmdebstrap: 'mmdebstrap',
  xz: 'xz-utils',
  zstd: 'zstd',
  gzip: 'gzip',
  'mkfs.fat': 'dosfstools',
  mmd: 'mtools',
  mcopy: 'mtools',
  syslinux: 'syslinux',
  sfdisk: 'fdisk',
  'mkfs.ext4': 'e2fsprogs',
  'qemu-img': 'qemu-utils',
  depmod: 'kmod',
  strip: 'binutils',
  cc: 'gcc',
};

export const HOST_FILES: Record<string, string> = {
  '/usr/lib/syslinux/mbr/gptmbr.bin': 'syslinux-common',
  '/usr/lib/syslinux/modules/bios/ldlinux.c32': 'syslinux-common',
  '/usr/lib/systemd/boot/efi/systemd-bootx64.efi': 'systemd-boot-efi',
};

// root shells started without a login (sudo, CI) may lack the sbin dirs
const SYSTEM_PATHS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolve a program on PATH (plus the sbin dirs a non-login root shell may lack). */
export async function which(tool: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SYSTEM_PATHS].filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, tool);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Throw one UserError naming every missing tool/file and the apt packages that provide them. */
export async function requireHostTools(tools: string[], files: string[] = []): Promise<void> {
  const missing: string[] = [];
  const packages = new Set<string>();
  for (const tool of tools) {
    if (!(await which(tool))) {
      missing.push(tool);
      packages.add(HOST_TOOLS[tool] ?? tool);
    }
  }
  for (const file of files) {
    try {
      await access(file, constants.R_OK);
    } catch {
      missing.push(file);
      packages.add(HOST_FILES[file] ?? '?');
    }
  }
  if (missing.length > 0) {
    const pkgs = [...packages].sort().join(' ');
    throw new UserError(
      `missing host tool${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`,
      `install with: apt-get install ${pkgs}  (or run build/setup-host.sh, which installs everything)`,
    );
  }
}

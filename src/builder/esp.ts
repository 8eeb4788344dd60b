import { mkdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';

/**
 * Stage: the boot partition (an EFI System Partition, FAT). One set of files
 * boots both ways:
 *   legacy BIOS: gptmbr.bin in the disk's MBR -> syslinux (ldlinux.sys) in this FAT
 *   UEFI:        \EFI\BOOT\BOOTX64.EFI = systemd-boot
 * Both load /vmlinuz plus the initrd layers in order (base, agent, site); the
 * kernel unpacks them one after the other into its rootfs.
 *
 * Reproducible: mkfs.fat --invariant with a fixed volume id, and mtools and
 * syslinux stamp files with SOURCE_DATE_EPOCH.
 */
export const SYSTEMD_BOOT = '/usr/lib/systemd/boot/efi/systemd-bootx64.efi';

export interface BootFile {
  /** Name in the ESP root, e.g. "base.img". */
  name: string;
  path: string;
}

export interface EspInput {
  kernel: string;
  /** Initrd layers in load order. */
  initrds: BootFile[];
  cmdline: string;
  /** Serial console for syslinux, e.g. { port: 0, baud: 115200 }. */
  serial?: { port: number; baud: number };
  /** Extra files (e.g. a build manifest). */
  extra?: { name: string; data: string }[];
  volumeId: string; // 8 hex digits
  epoch: number;
}

const MiB = 1024 * 1024;

export function syslinuxCfg(input: EspInput): string {
  const lines = [];
  if (input.serial) lines.push(`SERIAL ${input.serial.port} ${input.serial.baud}`);
  lines.push(
    'DEFAULT carpenter',
    'TIMEOUT 0',
    'PROMPT 0',
    'LABEL carpenter',
    '  LINUX /vmlinuz',
    `  INITRD ${input.initrds.map((f) => '/' + f.name).join(',')}`,
    `  APPEND ${input.cmdline}`,
  );
  return lines.join('\n') + '\n';
}

export function systemdBootEntry(input: EspInput): string {
  return [
    'title carpenter',
    'linux /vmlinuz',
    ...input.initrds.map((f) => `initrd /${f.name}`),
    `options ${input.cmdline}`,
  ].join('\n') + '\n';
}

/** Size the FAT for its contents plus headroom, rounded up to a whole MiB. */
export function espSizeBytes(contentBytes: number): number {
  const withSlack = contentBytes * 1.06 + 3 * MiB; // FAT tables, directories, syslinux
  return Math.ceil(withSlack / MiB) * MiB;
}

export async function buildEsp(input: EspInput, outPath: string, scratch: string): Promise<number> {
  const env = { ...process.env, SOURCE_DATE_EPOCH: String(input.epoch), MTOOLS_SKIP_CHECK: '1' };
  let content = (await stat(input.kernel)).size + (await stat(SYSTEMD_BOOT)).size;
  for (const f of input.initrds) content += (await stat(f.path)).size;
  const size = espSizeBytes(content);

  await rm(outPath, { force: true });
  await writeFile(outPath, '');
  await truncate(outPath, size);
  await execa('mkfs.fat', ['--invariant', '-i', input.volumeId, '-n', 'CARPBOOT', outPath], { env });

  await mkdir(scratch, { recursive: true });
  const put = async (name: string, data: string) => {
    const p = join(scratch, basename(name));
    await writeFile(p, data);
    return p;
  };
  const m = (args: string[]) => execa(args[0]!, ['-i', outPath, ...args.slice(1)], { env });
  await m(['mmd', '::/syslinux', '::/EFI', '::/EFI/BOOT', '::/loader', '::/loader/entries']);
  await m(['mcopy', input.kernel, '::/vmlinuz']);
  for (const f of input.initrds) await m(['mcopy', f.path, `::/${f.name}`]);
  await m(['mcopy', SYSTEMD_BOOT, '::/EFI/BOOT/BOOTX64.EFI']);
  await m(['mcopy', await put('syslinux.cfg', syslinuxCfg(input)), '::/syslinux/syslinux.cfg']);
  await m(['mcopy', await put('loader.conf', 'default carpenter.conf\ntimeout 0\n'), '::/loader/loader.conf']);
  await m(['mcopy', await put('carpenter.conf', systemdBootEntry(input)), '::/loader/entries/carpenter.conf']);
  for (const e of input.extra ?? []) await m(['mcopy', await put(e.name, e.data), `::/${e.name}`]);
  await execa('syslinux', ['--install', '--directory', '/syslinux', outPath], { env });
  return size;
}

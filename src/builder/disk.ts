import { createReadStream } from 'node:fs';
import { open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { execa } from 'execa';

/**
 * Stage: the disk image. GPT with two partitions:
 *   1  CARPBOOT  EFI System Partition, also "legacy BIOS bootable" for gptmbr.bin
 *   2  CARPCFG   ext4, the persistent config partition (carpd's config and state)
 * Fixed GUIDs and an ext4 built with a fixed UUID, hash seed and clock keep
 * the image byte-for-byte reproducible. qcow2 is converted from the raw image.
 */
export const GPTMBR = '/usr/lib/syslinux/mbr/gptmbr.bin';
const MiB = 1024 * 1024;

export interface DiskLayout {
  espBytes: number;
  configBytes: number;
  /** Deterministic identifiers derived from the build inputs. */
  diskGuid: string;
  espGuid: string;
  configGuid: string;
  configFsUuid: string;
}

export function diskBytes(l: DiskLayout): number {
  // 1 MiB before the first partition (alignment + GPT), 1 MiB after the last (backup GPT)
  return MiB + l.espBytes + l.configBytes + MiB;
}

export function sfdiskScript(l: DiskLayout): string {
  const sectors = (b: number) => b / 512;
  return [
    'label: gpt',
    `label-id: ${l.diskGuid}`,
    'first-lba: 2048',
    `start=2048, size=${sectors(l.espBytes)}, type=uefi, name="CARPBOOT", uuid=${l.espGuid}, attrs="LegacyBIOSBootable"`,
    `start=${2048 + sectors(l.espBytes)}, size=${sectors(l.configBytes)}, type=linux, name="CARPCFG", uuid=${l.configGuid}`,
  ].join('\n') + '\n';
}

export async function buildConfigFs(path: string, l: DiskLayout, epoch: number): Promise<void> {
  await rm(path, { force: true });
  await writeFile(path, '');
  await truncate(path, l.configBytes);
  await execa(
    'mkfs.ext4',
    ['-q', '-F', '-L', 'CARPCFG', '-U', l.configFsUuid, '-m', '0',
      '-E', `hash_seed=${l.configFsUuid},root_owner=0:0,nodiscard`, path],
    { env: { ...process.env, E2FSPROGS_FAKE_TIME: String(epoch) } },
  );
}

async function copyInto(dest: string, src: string, offset: number): Promise<void> {
  const fh = await open(dest, 'r+');
  try {
    let pos = offset;
    for await (const chunk of createReadStream(src, { highWaterMark: 4 * MiB })) {
      const buf = chunk as Buffer;
      await fh.write(buf, 0, buf.length, pos);
      pos += buf.length;
    }
  } finally {
    await fh.close();
  }
}

export async function assembleDisk(out: string, l: DiskLayout, espImage: string, configImage: string): Promise<void> {
  await rm(out, { force: true });
  await writeFile(out, '');
  await truncate(out, diskBytes(l));
  await execa('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', out], { input: sfdiskScript(l) });
  await copyInto(out, espImage, MiB);
  await copyInto(out, configImage, MiB + l.espBytes);
  // syslinux's GPT-aware MBR boot code: the first 440 bytes, before the disk signature
  const mbr = (await readFile(GPTMBR)).subarray(0, 440);
  const fh = await open(out, 'r+');
  try {
    await fh.write(mbr, 0, mbr.length, 0);
  } finally {
    await fh.close();
  }
}

export async function toQcow2(raw: string, out: string): Promise<void> {
  await rm(out, { force: true });
  await execa('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, out]);
}

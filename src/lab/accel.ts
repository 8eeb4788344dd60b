import { access, constants } from 'node:fs/promises';
import { execa } from 'execa';

/**
 * Pick QEMU's accelerator. /dev/kvm can exist while KVM guests hang (seen on
 * the machines this project is built on), so KVM is used only when a short
 * probe boot under it finishes: the kernel starts, finds no root and panics
 * (panic=-1 reboots at once, -no-reboot exits). Anything else means TCG.
 * CARPENTER_ACCEL=kvm|tcg skips the probe.
 */
export type Accel = 'kvm' | 'tcg';

let cached: Promise<Accel> | undefined;

export function chooseAccel(kernel: string, timeoutMs = 5000): Promise<Accel> {
  const forced = process.env.CARPENTER_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return Promise.resolve(forced);
  cached ??= probe(kernel, timeoutMs);
  return cached;
}

async function probe(kernel: string, timeoutMs: number): Promise<Accel> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'tcg';
  }
  const r = await execa(
    'qemu-system-x86_64',
    ['-accel', 'kvm', '-m', '128', '-nodefaults', '-nographic', '-serial', 'stdio', '-no-reboot',
      '-kernel', kernel, '-append', 'console=ttyS0 panic=-1 loglevel=3'],
    { reject: false, timeout: timeoutMs, all: true },
  );
  return !r.timedOut && /Kernel panic|VFS: Unable to mount root/.test(r.all ?? '') ? 'kvm' : 'tcg';
}

/** Copy /vmlinuz out of a carpenter raw image's boot partition (at 1 MiB) for the probe. */
export async function kernelFromImage(rawImage: string, dest: string): Promise<string> {
  await execa('mcopy', ['-o', '-i', `${rawImage}@@1M`, '::/vmlinuz', dest], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
  return dest;
}

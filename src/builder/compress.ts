import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';

/**
 * Compressors for initramfs layers. Both are deterministic for the same input
 * and flags (zstd's multi-threaded output does not depend on the thread
 * count; gzip -n leaves out name and timestamp). The kernel reads both
 * (CONFIG_RD_ZSTD, CONFIG_RD_GZIP in Debian's kernel).
 */
export type Compression = 'zstd' | 'gzip';

export interface CompressOptions {
  kind: Compression;
  /** zstd 1-19, gzip 1-9. */
  level: number;
}

export const LAYER_COMPRESSION = {
  /** Big, rarely rebuilt layers: spend the time once, they are cached. */
  heavy: { kind: 'zstd', level: 19 } as CompressOptions,
  /** The per-site layer is small and rebuilt often. */
  light: { kind: 'gzip', level: 9 } as CompressOptions,
};

export async function compressStream(input: Readable, outPath: string, opts: CompressOptions): Promise<void> {
  const args =
    opts.kind === 'zstd'
      ? ['-q', `-${opts.level}`, '-T0', '-c']
      : ['-n', `-${opts.level}`, '-c'];
  const proc = execa(opts.kind, args, { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false } });
  const written = pipeline(proc.stdout!, createWriteStream(outPath));
  input.on('error', (err) => proc.stdin!.destroy(err));
  input.pipe(proc.stdin!);
  await Promise.all([proc, written]);
}

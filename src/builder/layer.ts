import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar, { type Header } from 'tar-stream';

/**
 * One layer of the root filesystem, held as a map of normalised entries and
 * written as a tar with fixed owners, modes and timestamps, sorted by path:
 * the same entries always give the same bytes.
 */
export type EntryType = 'file' | 'dir' | 'symlink' | 'char';

export interface LayerEntry {
  /** Relative path without leading "./" or "/", e.g. "usr/sbin/carpd". */
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (no file-type bits). */
  mode: number;
  /** Contents of a small file. */
  data?: Buffer;
  /** Contents of a large file, read from disk when the tar is written. */
  source?: string;
  /** Size in bytes of `data`/`source` (filled in for `source` files). */
  size?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Which package/stage contributed it, for the build report. */
  origin?: string;
}

export function normalisePath(p: string): string {
  const n = posix.normalize(p.replace(/^\.?\/+/, '').replace(/\/+$/, ''));
  if (n === '.' || n === '') return '';
  if (n.startsWith('..')) throw new Error(`path escapes the root: ${p}`);
  return n;
}

export class Layer {
  readonly entries = new Map<string, LayerEntry>();

  constructor(readonly name: string) {}

  /** Add or replace an entry (later additions win, like later layers at boot). */
  add(entry: LayerEntry): void {
    const path = normalisePath(entry.path);
    if (!path) return; // the root itself
    const size = entry.data?.length ?? entry.size ?? 0;
    this.entries.set(path, { ...entry, path, size });
  }

  file(path: string, data: string | Buffer, mode = 0o644, origin?: string): void {
    this.add({ path, type: 'file', mode, data: Buffer.from(data), origin });
  }

  dir(path: string, mode = 0o755): void {
    this.add({ path, type: 'dir', mode });
  }

  symlink(path: string, target: string): void {
    this.add({ path, type: 'symlink', mode: 0o777, linkname: target });
  }

  async fileFrom(path: string, source: string, mode = 0o755, origin?: string): Promise<void> {
    const st = await stat(source);
    this.add({ path, type: 'file', mode, source, size: st.size, origin });
  }

  has(path: string): boolean {
    return this.entries.has(normalisePath(path));
  }

  delete(path: string): void {
    this.entries.delete(normalisePath(path));
  }

  /** Total bytes of file contents. */
  get contentBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.type === 'file' ? e.size ?? 0 : 0;
    return n;
  }

  /** Entries sorted by path, with missing parent directories filled in (0755). */
  sorted(): LayerEntry[] {
    const all = new Map(this.entries);
    for (const path of this.entries.keys()) {
      let parent = posix.dirname(path);
      while (parent !== '.' && !all.has(parent)) {
        all.set(parent, { path: parent, type: 'dir', mode: 0o755, size: 0 });
        parent = posix.dirname(parent);
      }
    }
    return [...all.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** Write the layer as a reproducible tar (owners 0:0, mtime = epoch). */
  async writeTar(outPath: string, epoch: number): Promise<void> {
    const pack = tar.pack();
    const done = pipeline(pack, createWriteStream(outPath));
    const mtime = new Date(epoch * 1000);
    for (const e of this.sorted()) {
      const header: Partial<Header> & { name: string } = {
        name: e.type === 'dir' ? `${e.path}/` : e.path,
        mode: e.mode,
        uid: 0,
        gid: 0,
        uname: 'root',
        gname: 'root',
        mtime,
        type: e.type === 'dir' ? 'directory' : e.type === 'char' ? 'character-device' : e.type,
      };
      if (e.type === 'symlink') header.linkname = e.linkname;
      if (e.type === 'char') {
        header.devmajor = e.devmajor ?? 0;
        header.devminor = e.devminor ?? 0;
      }
      if (e.type !== 'file') {
        await new Promise<void>((res, rej) => pack.entry(header, (err) => (err ? rej(err) : res())));
        continue;
      }
      header.size = e.size ?? 0;
      if (e.data) {
        await new Promise<void>((res, rej) => pack.entry(header, e.data!, (err) => (err ? rej(err) : res())));
      } else if (e.source) {
        const sink = pack.entry(header);
        await pipeline(createReadStream(e.source), sink);
      }
    }
    pack.finalize();
    await done;
  }
}

import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { execa } from 'execa';
import tar from 'tar-stream';

/**
 * Reading Debian packages without dpkg: a .deb is an `ar` archive holding
 * debian-binary, control.tar.* and data.tar.*; we decompress the tars with
 * the host's xz/zstd/gzip and walk them with tar-stream.
 */
export interface ArMember {
  name: string;
  data: Buffer;
}

export function parseAr(buf: Buffer): ArMember[] {
  const magic = '!<arch>\n';
  if (buf.subarray(0, 8).toString('latin1') !== magic) throw new Error('not an ar archive');
  const members: ArMember[] = [];
  let off = 8;
  while (off + 60 <= buf.length) {
    const name = buf.subarray(off, off + 16).toString('latin1').trim().replace(/\/$/, '');
    const size = parseInt(buf.subarray(off + 48, off + 58).toString('latin1').trim(), 10);
    if (!Number.isFinite(size)) throw new Error(`ar: bad member size at offset ${off}`);
    const start = off + 60;
    members.push({ name, data: buf.subarray(start, start + size) });
    off = start + size + (size % 2); // members are 2-byte aligned
  }
  return members;
}

const DECOMPRESSORS: Record<string, string[] | null> = {
  '.xz': ['xz', '-dc'],
  '.zst': ['zstd', '-dcq'],
  '.gz': ['gzip', '-dc'],
  '': null,
};

async function decompress(member: ArMember): Promise<Buffer> {
  const ext = member.name.replace(/^.*\.tar/, '');
  const cmd = DECOMPRESSORS[ext];
  if (cmd === undefined) throw new Error(`unsupported compression in ${member.name}`);
  if (cmd === null) return member.data;
  const [file, ...args] = cmd as [string, ...string[]];
  const { stdout } = await execa(file, args, { input: member.data, encoding: 'buffer', maxBuffer: 2 ** 31 });
  return Buffer.from(stdout);
}

export interface DebControl {
  package: string;
  version: string;
  architecture: string;
}

export interface DebFile {
  /** Path relative to the root, no leading "./". */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  mode: number;
  data: Buffer;
  linkname?: string;
}

export interface Deb {
  control: DebControl;
  files: DebFile[];
}

function parseControl(text: string): DebControl {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(text)?.[1]?.trim() ?? '';
  return { package: field('Package'), version: field('Version'), architecture: field('Architecture') };
}

async function tarEntries(buf: Buffer): Promise<DebFile[]> {
  const files: DebFile[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((res, rej) => {
    extract.on('finish', res);
    extract.on('error', rej);
  });
  extract.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      const path = h.name.replace(/^\.?\/+/, '').replace(/\/$/, '');
      const type = h.type === 'directory' || h.type === 'symlink' || h.type === 'link' ? h.type : 'file';
      if (path) {
        files.push({
          path,
          type,
          mode: (h.mode ?? 0o644) & 0o7777,
          data: Buffer.concat(chunks),
          // hard links name another archive member ("./usr/bin/x"); symlinks keep their target as written
          linkname: h.type === 'link' ? h.linkname?.replace(/^\.?\/+/, '') : h.linkname ?? undefined,
        });
      }
      next();
    });
    stream.resume();
  });
  Readable.from([buf]).pipe(extract);
  await done;
  return files;
}

export async function readDeb(path: string): Promise<Deb> {
  const members = parseAr(await readFile(path));
  const control = members.find((m) => m.name.startsWith('control.tar'));
  const data = members.find((m) => m.name.startsWith('data.tar'));
  if (!control || !data) throw new Error(`${path}: not a Debian package (no control/data member)`);
  const controlFiles = await tarEntries(await decompress(control));
  const controlText = controlFiles.find((f) => f.path === 'control')?.data.toString('utf8') ?? '';
  return { control: parseControl(controlText), files: await tarEntries(await decompress(data)) };
}

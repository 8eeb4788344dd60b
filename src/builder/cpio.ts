import { createReadStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import tar from 'tar-stream';

/**
 * Convert a layer tar into a "newc" cpio archive, the format the kernel
 * unpacks as an initramfs. Several such archives, each compressed on its own,
 * may be concatenated: the kernel unpacks them in order and later files
 * replace earlier ones (Documentation/filesystems/ramfs-rootfs-initramfs).
 */
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function pad4(n: number): Buffer {
  const r = (4 - (n % 4)) % 4;
  return Buffer.alloc(r);
}

export interface CpioHeader {
  ino: number;
  mode: number; // including file-type bits
  mtime: number;
  size: number;
  name: string;
  rdevmajor?: number;
  rdevminor?: number;
  nlink?: number;
}

export function cpioHeader(h: CpioHeader): Buffer {
  const name = Buffer.from(h.name + '\0');
  const fields = [
    h.ino,
    h.mode,
    0, // uid
    0, // gid
    h.nlink ?? ((h.mode & S_IFDIR) === S_IFDIR ? 2 : 1),
    h.mtime,
    h.size,
    0, // devmajor
    0, // devminor
    h.rdevmajor ?? 0,
    h.rdevminor ?? 0,
    name.length,
    0, // check
  ];
  const head = Buffer.from('070701' + fields.map(hex8).join(''), 'ascii');
  return Buffer.concat([head, name, pad4(head.length + name.length)]);
}

export function cpioTrailer(): Buffer {
  return cpioHeader({ ino: 0, mode: 0, mtime: 0, size: 0, name: 'TRAILER!!!', nlink: 1 });
}

/** Stream the cpio rendering of a tar file. */
export function tarToCpio(tarPath: string): Readable {
  const out = new PassThrough();
  const extract = tar.extract();
  let ino = 1;
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      const mtime = Math.floor((header.mtime?.getTime() ?? 0) / 1000);
      const perm = (header.mode ?? 0) & 0o7777;
      const name = header.name.replace(/\/$/, '');
      let body = Buffer.alloc(0);
      let mode: number;
      switch (header.type) {
        case 'file':
          mode = S_IFREG | perm;
          body = Buffer.concat(chunks);
          break;
        case 'directory':
          mode = S_IFDIR | perm;
          break;
        case 'symlink':
          mode = S_IFLNK | 0o777;
          body = Buffer.from(header.linkname ?? '');
          break;
        case 'character-device':
          mode = S_IFCHR | perm;
          break;
        default:
          extract.destroy(new Error(`cpio: unsupported tar entry type ${header.type} for ${name}`));
          return;
      }
      const head = cpioHeader({
        ino: ino++,
        mode,
        mtime,
        size: body.length,
        name,
        rdevmajor: header.devmajor ?? 0,
        rdevminor: header.devminor ?? 0,
      });
      const ok = out.write(Buffer.concat([head, body, pad4(body.length)]));
      if (ok) next();
      else out.once('drain', next);
    });
  });
  extract.on('finish', () => {
    out.end(cpioTrailer());
  });
  extract.on('error', (err) => out.destroy(err));
  createReadStream(tarPath).on('error', (err) => out.destroy(err)).pipe(extract);
  return out;
}

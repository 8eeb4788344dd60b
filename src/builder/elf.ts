/**
 * Just enough ELF64 reading to list a binary's DT_NEEDED libraries, so the
 * builder can prove that every program in the image finds its shared
 * libraries after packages were excluded and paths pruned.
 */
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;

export function isElf(buf: Buffer): boolean {
  return buf.length > 64 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/** DT_NEEDED entries of a little-endian ELF64 file; [] for static or non-ELF64 files. */
export function neededLibraries(buf: Buffer): string[] {
  if (!isElf(buf) || buf[4] !== 2 || buf[5] !== 1) return [];
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let dyn: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (p + 56 > buf.length) return [];
    const type = buf.readUInt32LE(p);
    const offset = Number(buf.readBigUInt64LE(p + 8));
    const vaddr = Number(buf.readBigUInt64LE(p + 16));
    const filesz = Number(buf.readBigUInt64LE(p + 32));
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    if (type === PT_DYNAMIC) dyn = { offset, size: filesz };
  }
  if (!dyn) return [];
  const toOffset = (addr: number) => {
    const seg = loads.find((l) => addr >= l.vaddr && addr < l.vaddr + l.filesz);
    return seg ? addr - seg.vaddr + seg.offset : undefined;
  };
  const needed: number[] = [];
  let strtab: number | undefined;
  for (let p = dyn.offset; p + 16 <= dyn.offset + dyn.size && p + 16 <= buf.length; p += 16) {
    const tag = Number(buf.readBigInt64LE(p));
    const val = Number(buf.readBigUInt64LE(p + 8));
    if (tag === DT_NULL) break;
    if (tag === DT_NEEDED) needed.push(val);
    if (tag === DT_STRTAB) strtab = toOffset(val);
  }
  if (strtab === undefined) return [];
  return needed.map((off) => {
    const start = strtab! + off;
    const end = buf.indexOf(0, start);
    return buf.subarray(start, end < 0 ? undefined : end).toString('latin1');
  });
}

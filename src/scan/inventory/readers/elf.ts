/** A minimal ELF reader: enough to find a section and map virtual addresses to file offsets. */
export interface ElfFile {
  class64: boolean;
  littleEndian: boolean;
  /** e_type: 2 executable, 3 shared object / PIE. */
  type: number;
  sections: Array<{ name: string; addr: number; offset: number; size: number; type: number }>;
  loads: Array<{ vaddr: number; offset: number; filesz: number }>;
}

export const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/** Parse ELF headers from a complete file image. Throws on a malformed header. */
export function parseElf(buf: Buffer): ElfFile {
  if (!isElf(buf) || buf.length < 52) throw new Error('not an ELF file');
  const cls = buf[4];
  const data = buf[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) throw new Error('unsupported ELF class or data encoding');
  const class64 = cls === 2;
  const le = data === 1;
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const uptr = (o: number): number => {
    if (!class64) return u32(o);
    const v = le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('ELF address out of range');
    return Number(v);
  };
  const need = (end: number): void => {
    if (end > buf.length) throw new Error('truncated ELF file');
  };
  need(class64 ? 64 : 52);
  const type = u16(16);
  const phoff = uptr(class64 ? 32 : 28);
  const shoff = uptr(class64 ? 40 : 32);
  const phentsize = u16(class64 ? 54 : 42);
  const phnum = u16(class64 ? 56 : 44);
  const shentsize = u16(class64 ? 58 : 46);
  const shnum = u16(class64 ? 60 : 48);
  const shstrndx = u16(class64 ? 62 : 50);

  const loads: ElfFile['loads'] = [];
  if (phoff > 0 && phnum > 0) {
    need(phoff + phnum * phentsize);
    for (let i = 0; i < phnum; i++) {
      const at = phoff + i * phentsize;
      if (u32(at) !== 1) continue; // PT_LOAD
      loads.push(
        class64
          ? { offset: uptr(at + 8), vaddr: uptr(at + 16), filesz: uptr(at + 32) }
          : { offset: u32(at + 4), vaddr: u32(at + 8), filesz: u32(at + 16) },
      );
    }
  }
  const raw: Array<{ nameOff: number; type: number; addr: number; offset: number; size: number }> = [];
  if (shoff > 0 && shnum > 0 && shoff + shnum * shentsize <= buf.length) {
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * shentsize;
      raw.push(
        class64
          ? { nameOff: u32(at), type: u32(at + 4), addr: uptr(at + 16), offset: uptr(at + 24), size: uptr(at + 32) }
          : { nameOff: u32(at), type: u32(at + 4), addr: u32(at + 12), offset: u32(at + 16), size: u32(at + 20) },
      );
    }
  }
  const strtab = raw[shstrndx];
  const sections = raw.map((s) => {
    let name = '';
    if (strtab && strtab.offset + s.nameOff < buf.length) {
      const start = strtab.offset + s.nameOff;
      let end = start;
      while (end < buf.length && buf[end] !== 0) end++;
      name = buf.toString('latin1', start, end);
    }
    return { name, addr: s.addr, offset: s.offset, size: s.size, type: s.type };
  });
  return { class64, littleEndian: le, type, sections, loads };
}

/** File offset of a virtual address, or undefined when no PT_LOAD segment holds it in the file. */
export function elfOffsetOf(elf: ElfFile, vaddr: number): number | undefined {
  for (const l of elf.loads) {
    if (vaddr >= l.vaddr && vaddr < l.vaddr + l.filesz) return l.offset + (vaddr - l.vaddr);
  }
  for (const s of elf.sections) {
    if (s.type !== 8 && s.addr !== 0 && vaddr >= s.addr && vaddr < s.addr + s.size) return s.offset + (vaddr - s.addr);
  }
  return undefined;
}

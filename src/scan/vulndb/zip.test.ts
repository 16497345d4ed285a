import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32, deflateRawSync } from 'node:zlib';
import { readZipEntries } from './zip.js';

/** A zip written by hand: stored and deflated entries, optionally as zip64. */
function zip(entries: { name: string; data: Buffer; store?: boolean }[], zip64 = false): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const packed = e.store ? e.data : deflateRawSync(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(e.store ? 0 : 8, 8);
    local.writeUInt32LE(crc32(e.data), 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(e.store ? 0 : 8, 10);
    c.writeUInt32LE(crc32(e.data), 16);
    c.writeUInt32LE(packed.length, 20);
    c.writeUInt32LE(e.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    parts.push(local, name, packed);
    central.push(c, name);
    offset += 30 + name.length + packed.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  if (!zip64) return Buffer.concat([...parts, cd, end]);
  const z = Buffer.alloc(56);
  z.writeUInt32LE(0x06064b50, 0);
  z.writeBigUInt64LE(44n, 4);
  z.writeBigUInt64LE(BigInt(entries.length), 24);
  z.writeBigUInt64LE(BigInt(entries.length), 32);
  z.writeBigUInt64LE(BigInt(cd.length), 40);
  z.writeBigUInt64LE(BigInt(offset), 48);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
  loc.writeUInt32LE(1, 16);
  return Buffer.concat([...parts, cd, z, loc, end]);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-zip-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function entriesOf(bytes: Buffer, opts: { maxEntryBytes?: number } = {}) {
  const file = join(dir, `z${Math.random()}.zip`);
  await writeFile(file, bytes);
  const got: [string, string][] = [];
  const skipped: string[] = [];
  await readZipEntries(file, (n) => n.endsWith('.json'), (n, d) => void got.push([n, d.toString()]), { ...opts, onSkip: (n) => skipped.push(n) });
  return { got, skipped };
}

describe('readZipEntries', () => {
  const big = Buffer.from(JSON.stringify({ id: 'X', pad: 'y'.repeat(5 * 1024 * 1024) }));

  it('reads stored and deflated entries in order, filters by name, and crosses its window', async () => {
    const { got } = await entriesOf(
      zip([
        { name: 'a/A.json', data: Buffer.from('{"id":"A"}') },
        { name: 'README', data: Buffer.from('skip me') },
        { name: 'B.json', data: Buffer.from('{"id":"B"}'), store: true },
        { name: 'big.json', data: big },
        { name: 'C.json', data: Buffer.from('{"id":"C"}') },
      ]),
    );
    expect(got.map(([n]) => n)).toEqual(['a/A.json', 'B.json', 'big.json', 'C.json']);
    expect(got[3]![1]).toBe('{"id":"C"}');
    expect(got[2]![1]).toBe(big.toString());
  });

  it('reads a zip64 zip', async () => {
    const { got } = await entriesOf(zip([{ name: 'A.json', data: Buffer.from('{}') }, { name: 'B.json', data: Buffer.from('[]') }], true));
    expect(got).toEqual([
      ['A.json', '{}'],
      ['B.json', '[]'],
    ]);
  });

  it('skips an entry over the size cap, and refuses a file that is not a zip or is corrupt', async () => {
    const { got, skipped } = await entriesOf(zip([{ name: 'big.json', data: big }, { name: 'A.json', data: Buffer.from('{}') }]), { maxEntryBytes: 1024 });
    expect(skipped).toEqual(['big.json']);
    expect(got).toEqual([['A.json', '{}']]);
    await expect(entriesOf(Buffer.from('not a zip at all'))).rejects.toThrow(/not a zip/);
    const bad = zip([{ name: 'A.json', data: Buffer.from('{"id":"A"}'), store: true }]);
    const at = 30 + 'A.json'.length + 2;
    bad.writeUInt8(bad.readUInt8(at) ^ 0xff, at); // flip a byte of the stored data: the CRC no longer matches
    await expect(entriesOf(bad)).rejects.toThrow(/corrupt/);
    await expect(entriesOf(bad.subarray(0, bad.length - 10))).rejects.toThrow(/not a zip/);
  });
});

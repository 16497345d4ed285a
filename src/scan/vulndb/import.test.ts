import { describe, expect, it } from 'vitest';
import { streamProgress } from './import.js';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: Object.assign({ write: (t: string) => (writes.push(t), true) }, { isTTY }) as unknown as NodeJS.WritableStream & { isTTY?: boolean } };
}

const counts = { read: 25_000, added: 20_000, updated: 4_000, withdrawn: 10, unchanged: 1_000, invalid: 2 };

describe('streamProgress', () => {
  it('writes one plain line per 10,000 records and a summary when the output is not a terminal', () => {
    const { writes, stream } = sink(false);
    const p = streamProgress(stream);
    for (let n = 1; n <= 25_000; n++) p.update('Debian/all.zip', n, 25_000);
    p.finish('Debian/all.zip', counts);
    expect(writes).toEqual([
      'Debian/all.zip: 10000/25000 records\n',
      'Debian/all.zip: 20000/25000 records\n',
      'Debian/all.zip: 25000 records read, 20000 added, 4000 updated, 10 withdrawn, 1000 unchanged, 2 invalid\n',
    ]);
  });

  it('redraws one line in place on a terminal', () => {
    const { writes, stream } = sink(true);
    const p = streamProgress(stream);
    p.update('npm/all.zip', 50, 200);
    p.finish('npm/all.zip', counts);
    expect(writes[0]).toBe('\r\x1b[Knpm/all.zip: 50/200 records 25%');
    expect(writes[1]).toMatch(/^\r\x1b\[Knpm\/all\.zip: 25000 records read/);
    expect(writes.every((w) => !w.slice(0, -1).includes('\n'))).toBe(true);
  });
});

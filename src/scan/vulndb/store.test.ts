import { describe, expect, it } from 'vitest';
import { osvHeader, packageKey } from './store.js';

describe('osvHeader', () => {
  it('reads id, modified, withdrawn, aliases (with upstream) and the affected packages by base ecosystem', () => {
    const h = osvHeader({
      id: 'DSA-1-1',
      modified: '2024-01-02T03:04:05Z',
      withdrawn: '2024-02-01T00:00:00Z',
      aliases: ['CVE-2024-1'],
      upstream: ['CVE-2024-2', 'DSA-1-1'],
      affected: [
        { package: { ecosystem: 'Debian:12', name: 'openssl' } },
        { package: { ecosystem: 'Debian:11', name: 'openssl' } },
        { package: { ecosystem: 'PyPI', name: 'Flask_Cors' } },
        { ranges: [] },
      ],
    });
    expect(h).toEqual({
      id: 'DSA-1-1',
      modified: Date.parse('2024-01-02T03:04:05Z'),
      withdrawn: Date.parse('2024-02-01T00:00:00Z'),
      aliases: ['CVE-2024-1', 'CVE-2024-2'],
      packages: [
        { ecosystem: 'Debian', name: 'openssl' },
        { ecosystem: 'PyPI', name: 'flask-cors' },
      ],
    });
  });

  it('refuses what is not a record: no id, no parsable modified, not an object', () => {
    expect(osvHeader({ modified: '2024-01-01T00:00:00Z' })).toBeUndefined();
    expect(osvHeader({ id: 'X', modified: 'yesterday' })).toBeUndefined();
    expect(osvHeader([])).toBeUndefined();
    expect(osvHeader(null)).toBeUndefined();
  });

  it('normalises names as the matcher does', () => {
    expect(packageKey('PyPI', 'Zope.Interface')).toBe('zope-interface');
    expect(packageKey('npm', 'Left-Pad')).toBe('Left-Pad');
  });
});

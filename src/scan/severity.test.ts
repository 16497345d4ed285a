import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOsvRecord } from './osv.js';
import { CvssError, cvssScore, recordSeverity, severityFromScore, severityFromText } from './severity.js';

const corpus = new URL('../../../shared/vulndata/', import.meta.url);

describe('CVSS base scores', () => {
  // Expected scores from FIRST's calculators (v3.1, v3.0, v2, v4.0) for these vectors.
  it.each([
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10.0],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N', 5.4],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
    ['CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N', 5.5],
    ['CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H', 5.9],
    ['CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N', 1.6],
    ['CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H', 9.9],
    ['CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:C/C:L/I:L/A:N', 5.5],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N', 0],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U', 9.8],
    ['CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
    ['CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:L', 5.3],
    ['AV:N/AC:L/Au:N/C:P/I:P/A:P', 7.5],
    ['AV:N/AC:M/Au:N/C:N/I:P/A:N', 4.3],
    ['(AV:L/AC:H/Au:S/C:C/I:C/A:C)', 6.0],
    ['AV:N/AC:L/Au:N/C:C/I:C/A:C', 10.0],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 9.3],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N', 0],
    ['CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 8.5],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:P/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N/E:A', 5.3],
  ])('%s = %d', (vector, score) => {
    expect(cvssScore(vector).baseScore).toBe(score);
  });

  it.each([
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H',
    'CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    'CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1',
    'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H',
    'CVSS:9.9/AV:N',
    'high',
    '',
  ])('rejects %j', (vector) => {
    expect(() => cvssScore(vector)).toThrow(CvssError);
  });

  it('agrees with GitHub\'s severity word on every GHSA record of the corpus scored with CVSS v3 only', () => {
    let checked = 0;
    for (const eco of ['npm', 'Maven']) {
      for (const file of readdirSync(new URL(`osv/${eco}/`, corpus))) {
        const r = parseOsvRecord(JSON.parse(readFileSync(new URL(`osv/${eco}/${file}`, corpus), 'utf8')));
        const word = r.database_specific?.severity;
        if (!r.id.startsWith('GHSA-') || typeof word !== 'string' || r.severity.some((s) => s.type === 'CVSS_V4')) continue;
        const v3 = r.severity.find((s) => s.type === 'CVSS_V3');
        if (!v3) continue;
        expect(severityFromScore(cvssScore(v3.score).baseScore), `${r.id} ${v3.score}`).toBe(severityFromText(word));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe('ECR severities', () => {
  it('maps scores by the Inspector bands', () => {
    expect([10, 9, 8.9, 7, 6.9, 4, 3.9, 0.1, 0].map(severityFromScore)).toEqual([
      'CRITICAL', 'CRITICAL', 'HIGH', 'HIGH', 'MEDIUM', 'MEDIUM', 'LOW', 'LOW', 'INFORMATIONAL',
    ]);
  });

  it('maps vendor words', () => {
    expect(['CRITICAL', 'HIGH', 'Important', 'MODERATE', 'medium', 'low', 'low**', 'unimportant', 'negligible', 'not yet assigned', ''].map(severityFromText)).toEqual([
      'CRITICAL', 'HIGH', 'HIGH', 'MEDIUM', 'MEDIUM', 'LOW', 'LOW', 'INFORMATIONAL', 'INFORMATIONAL', 'UNDEFINED', 'UNDEFINED',
    ]);
  });

  const base = { id: 'T-1', modified: '2024-01-01T00:00:00Z' };

  it('prefers a CVSS v3 vector, then v4, and keeps the vendor word', () => {
    const r = parseOsvRecord({
      ...base,
      severity: [
        { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' },
        { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N' },
      ],
      database_specific: { severity: 'MODERATE' },
    });
    expect(recordSeverity(r)).toEqual({
      severity: 'MEDIUM',
      score: 5.4,
      vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N',
      cvssVersion: '3.1',
      vendorSeverity: 'MODERATE',
    });
    const v4 = parseOsvRecord({ ...base, severity: [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' }] });
    expect(recordSeverity(v4)).toMatchObject({ severity: 'CRITICAL', score: 9.3, cvssVersion: '4.0' });
  });

  it('uses the record\'s words when it has no usable vector', () => {
    const word = parseOsvRecord({ ...base, severity: [{ type: 'CVSS_V3', score: 'garbage' }], database_specific: { severity: 'HIGH' } });
    expect(recordSeverity(word)).toEqual({ severity: 'HIGH', vendorSeverity: 'HIGH' });
    const urgency = parseOsvRecord({ ...base, affected: [{ package: { ecosystem: 'Debian:12', name: 'x' }, ecosystem_specific: { urgency: 'low**' } }] });
    expect(recordSeverity(urgency, urgency.affected[0])).toEqual({ severity: 'LOW', vendorSeverity: 'low**' });
    const ubuntu = parseOsvRecord({ ...base, severity: [{ type: 'Ubuntu', score: 'negligible' }] });
    expect(recordSeverity(ubuntu).severity).toBe('INFORMATIONAL');
    expect(recordSeverity(parseOsvRecord(base))).toEqual({ severity: 'UNDEFINED' });
  });

  it('reads RustSec\'s vector and informational notices', () => {
    const read = (id: string) => parseOsvRecord(JSON.parse(readFileSync(new URL(`osv/crates.io/${id}.json`, corpus), 'utf8')));
    const unmaintained = read('RUSTSEC-2020-0016');
    expect(recordSeverity(unmaintained, unmaintained.affected[0]).severity).toBe('INFORMATIONAL');
    const vuln = read('RUSTSEC-2020-0078');
    const s = recordSeverity(vuln, vuln.affected[0]);
    expect(s.severity).not.toBe('UNDEFINED');
  });
});

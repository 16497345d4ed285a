/**
 * Severity of a finding: a CVSS base score computed from the record's vector, mapped onto ECR's
 * severities, or the record's own severity words when it has no vector.
 *
 * CVSS v3.0/v3.1 and v2 base scores are computed here from the FIRST specifications
 * (https://www.first.org/cvss/v3.1/specification-document section 7, v3.0 section 8,
 * https://www.first.org/cvss/v2/guide section 3.2.1). CVSS v4.0 scoring needs the
 * specification's macro-vector lookup table and interpolation; after validating the vector here,
 * its score comes from ae-cvss-calculator (Apache-2.0, no dependencies, works offline).
 */
import cvssCalculator from 'ae-cvss-calculator';
import type { OsvAffected, OsvRecord, OsvSeverity } from './osv.js';

/** ECR's FindingSeverity enum (ecr-api.md, ImageScanFinding.severity). */
export type EcrSeverity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'INFORMATIONAL' | 'UNDEFINED';

export interface CvssScore {
  /** '2.0' | '3.0' | '3.1' | '4.0' */
  version: string;
  vector: string;
  baseScore: number;
}

export interface SeverityResult {
  severity: EcrSeverity;
  /** CVSS base score, when the record has a usable vector. */
  score?: number;
  vector?: string;
  cvssVersion?: string;
  /** The record's own word (`HIGH`, `MODERATE`, Debian urgency `low`...), when it has one. */
  vendorSeverity?: string;
}

/** Thrown for a vector that is not a valid CVSS v2/v3.x/v4.0 base vector. */
export class CvssError extends Error {
  override readonly name = 'CvssError';
}

type Metrics = Map<string, string>;

function parseMetrics(parts: string[], allowed: Record<string, readonly string[]>, vector: string): Metrics {
  const metrics: Metrics = new Map();
  for (const part of parts) {
    const colon = part.indexOf(':');
    const key = colon > 0 ? part.slice(0, colon) : '';
    const value = part.slice(colon + 1);
    const values = allowed[key];
    if (values === undefined || !values.includes(value)) {
      throw new CvssError(`CVSS vector ${JSON.stringify(vector)} has an invalid metric ${JSON.stringify(part)}`);
    }
    if (metrics.has(key)) throw new CvssError(`CVSS vector ${JSON.stringify(vector)} repeats metric ${key}`);
    metrics.set(key, value);
  }
  return metrics;
}

function requireMetrics(metrics: Metrics, keys: readonly string[], vector: string): void {
  for (const k of keys) {
    if (!metrics.has(k)) throw new CvssError(`CVSS vector ${JSON.stringify(vector)} lacks base metric ${k}`);
  }
}

// ---- CVSS v3.x ----------------------------------------------------------------------------

const V3_BASE = ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'] as const;
const CIA = ['H', 'L', 'N'];
const V3_ALLOWED: Record<string, readonly string[]> = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'R'],
  S: ['U', 'C'],
  C: CIA,
  I: CIA,
  A: CIA,
  // Temporal and environmental metrics are allowed in a vector but do not change the base score.
  E: ['X', 'U', 'P', 'F', 'H'],
  RL: ['X', 'O', 'T', 'W', 'U'],
  RC: ['X', 'U', 'R', 'C'],
  CR: ['X', 'L', 'M', 'H'],
  IR: ['X', 'L', 'M', 'H'],
  AR: ['X', 'L', 'M', 'H'],
  MAV: ['X', 'N', 'A', 'L', 'P'],
  MAC: ['X', 'L', 'H'],
  MPR: ['X', 'N', 'L', 'H'],
  MUI: ['X', 'N', 'R'],
  MS: ['X', 'U', 'C'],
  MC: ['X', ...CIA],
  MI: ['X', ...CIA],
  MA: ['X', ...CIA],
};

const V3_WEIGHTS = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const;

/** CVSS v3.1 Roundup (Appendix A): the smallest one-decimal number >= x, float-safe. */
function roundup31(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** CVSS v3.0 round up: ceil to one decimal. */
function roundup30(x: number): number {
  return Math.ceil(x * 10) / 10;
}

function cvss3(vector: string, version: '3.0' | '3.1'): CvssScore {
  const m = parseMetrics(vector.split('/').slice(1), V3_ALLOWED, vector);
  requireMetrics(m, V3_BASE, vector);
  const changed = m.get('S') === 'C';
  const pr = m.get('PR');
  const prWeight = pr === 'N' ? 0.85 : pr === 'L' ? (changed ? 0.68 : 0.62) : changed ? 0.5 : 0.27;
  const w = (k: 'C' | 'I' | 'A'): number => V3_WEIGHTS.CIA[m.get(k) as 'H' | 'L' | 'N'];
  const iss = 1 - (1 - w('C')) * (1 - w('I')) * (1 - w('A'));
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability =
    8.22 *
    V3_WEIGHTS.AV[m.get('AV') as 'N' | 'A' | 'L' | 'P'] *
    V3_WEIGHTS.AC[m.get('AC') as 'L' | 'H'] *
    prWeight *
    V3_WEIGHTS.UI[m.get('UI') as 'N' | 'R'];
  const roundup = version === '3.1' ? roundup31 : roundup30;
  let base = 0;
  if (impact > 0) {
    base = changed ? roundup(Math.min(1.08 * (impact + exploitability), 10)) : roundup(Math.min(impact + exploitability, 10));
  }
  return { version, vector, baseScore: base };
}

// ---- CVSS v2 ------------------------------------------------------------------------------

const V2_BASE = ['AV', 'AC', 'Au', 'C', 'I', 'A'] as const;
const V2_ALLOWED: Record<string, readonly string[]> = {
  AV: ['L', 'A', 'N'],
  AC: ['H', 'M', 'L'],
  Au: ['M', 'S', 'N'],
  C: ['N', 'P', 'C'],
  I: ['N', 'P', 'C'],
  A: ['N', 'P', 'C'],
  E: ['U', 'POC', 'F', 'H', 'ND'],
  RL: ['OF', 'TF', 'W', 'U', 'ND'],
  RC: ['UC', 'UR', 'C', 'ND'],
  CDP: ['N', 'L', 'LM', 'MH', 'H', 'ND'],
  TD: ['N', 'L', 'M', 'H', 'ND'],
  CR: ['L', 'M', 'H', 'ND'],
  IR: ['L', 'M', 'H', 'ND'],
  AR: ['L', 'M', 'H', 'ND'],
};

function cvss2(vector: string): CvssScore {
  const body = vector.replace(/^\(|\)$/g, '').replace(/^CVSS:2\.0\//, '');
  const m = parseMetrics(body.split('/'), V2_ALLOWED, vector);
  requireMetrics(m, V2_BASE, vector);
  const av = { L: 0.395, A: 0.646, N: 1.0 }[m.get('AV') as 'L' | 'A' | 'N'];
  const ac = { H: 0.35, M: 0.61, L: 0.71 }[m.get('AC') as 'H' | 'M' | 'L'];
  const au = { M: 0.45, S: 0.56, N: 0.704 }[m.get('Au') as 'M' | 'S' | 'N'];
  const cia = (k: string): number => ({ N: 0, P: 0.275, C: 0.66 })[m.get(k) as 'N' | 'P' | 'C'];
  const impact = 10.41 * (1 - (1 - cia('C')) * (1 - cia('I')) * (1 - cia('A')));
  const exploitability = 20 * av * ac * au;
  const f = impact === 0 ? 0 : 1.176;
  const base = Math.round((0.6 * impact + 0.4 * exploitability - 1.5) * f * 10) / 10;
  return { version: '2.0', vector, baseScore: Math.max(0, base) };
}

// ---- CVSS v4.0 ----------------------------------------------------------------------------

const V4_BASE = ['AV', 'AC', 'AT', 'PR', 'UI', 'VC', 'VI', 'VA', 'SC', 'SI', 'SA'] as const;
const HLN = ['H', 'L', 'N'];
const V4_ALLOWED: Record<string, readonly string[]> = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  AT: ['N', 'P'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'P', 'A'],
  VC: HLN,
  VI: HLN,
  VA: HLN,
  SC: HLN,
  SI: HLN,
  SA: HLN,
  E: ['X', 'A', 'P', 'U'],
  CR: ['X', 'H', 'M', 'L'],
  IR: ['X', 'H', 'M', 'L'],
  AR: ['X', 'H', 'M', 'L'],
  MAV: ['X', 'N', 'A', 'L', 'P'],
  MAC: ['X', 'L', 'H'],
  MAT: ['X', 'N', 'P'],
  MPR: ['X', 'N', 'L', 'H'],
  MUI: ['X', 'N', 'P', 'A'],
  MVC: ['X', ...HLN],
  MVI: ['X', ...HLN],
  MVA: ['X', ...HLN],
  MSC: ['X', ...HLN],
  MSI: ['X', 'S', ...HLN],
  MSA: ['X', 'S', ...HLN],
  S: ['X', 'N', 'P'],
  AU: ['X', 'N', 'Y'],
  R: ['X', 'A', 'U', 'I'],
  V: ['X', 'D', 'C'],
  RE: ['X', 'L', 'M', 'H'],
  U: ['X', 'Clear', 'Green', 'Amber', 'Red'],
};

function cvss4(vector: string): CvssScore {
  const m = parseMetrics(vector.split('/').slice(1), V4_ALLOWED, vector);
  requireMetrics(m, V4_BASE, vector);
  // Score the base metrics only (CVSS-B), as the other versions here do.
  const base = `CVSS:4.0/${V4_BASE.map((k) => `${k}:${m.get(k)}`).join('/')}`;
  let score: number | undefined;
  try {
    score = new cvssCalculator.Cvss4P0(base).calculateScores().base;
  } catch (err) {
    throw new CvssError(`CVSS vector ${JSON.stringify(vector)} could not be scored: ${(err as Error).message}`);
  }
  if (typeof score !== 'number' || !Number.isFinite(score)) {
    throw new CvssError(`CVSS vector ${JSON.stringify(vector)} could not be scored`);
  }
  return { version: '4.0', vector, baseScore: score };
}

/** The CVSS base score of a vector (v2, v3.0, v3.1 or v4.0). Throws CvssError. */
export function cvssScore(vector: string): CvssScore {
  const v = vector.trim();
  if (v.startsWith('CVSS:3.1/')) return cvss3(v, '3.1');
  if (v.startsWith('CVSS:3.0/')) return cvss3(v, '3.0');
  if (v.startsWith('CVSS:4.0/')) return cvss4(v);
  if (/^\(?(CVSS:2\.0\/)?AV:/.test(v)) return cvss2(v);
  throw new CvssError(`unsupported CVSS vector ${JSON.stringify(vector)}`);
}

/** ECR/Inspector bands: 9.0+ CRITICAL, 7.0+ HIGH, 4.0+ MEDIUM, 0.1+ LOW, 0.0 INFORMATIONAL. */
export function severityFromScore(score: number): EcrSeverity {
  if (score >= 9) return 'CRITICAL';
  if (score >= 7) return 'HIGH';
  if (score >= 4) return 'MEDIUM';
  if (score > 0) return 'LOW';
  return 'INFORMATIONAL';
}

const WORDS: Record<string, EcrSeverity> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  important: 'HIGH', // Red Hat, SUSE
  moderate: 'MEDIUM', // GitHub advisories, Red Hat
  medium: 'MEDIUM', // Debian urgency, Ubuntu priority
  low: 'LOW',
  negligible: 'INFORMATIONAL', // Ubuntu
  unimportant: 'INFORMATIONAL', // Debian urgency
  informational: 'INFORMATIONAL',
  info: 'INFORMATIONAL',
  none: 'INFORMATIONAL',
};

/**
 * A vendor's severity word: CRITICAL, HIGH/IMPORTANT, MODERATE/MEDIUM, LOW, NEGLIGIBLE/
 * UNIMPORTANT; anything else (`not yet assigned`, `end-of-life`, ``) is UNDEFINED. Debian
 * urgencies carry a `**` suffix when the tracker guessed them (`low**`), which is ignored.
 */
export function severityFromText(word: string): EcrSeverity {
  const w = word.trim().toLowerCase().replace(/\*+$/, '');
  return WORDS[w] ?? 'UNDEFINED';
}

const CVSS_PREFERENCE = ['CVSS_V3', 'CVSS_V4', 'CVSS_V2'];

function bestCvss(lists: (OsvSeverity[] | undefined)[]): CvssScore | undefined {
  for (const type of CVSS_PREFERENCE) {
    for (const list of lists) {
      for (const s of list ?? []) {
        if (s.type !== type) continue;
        try {
          return cvssScore(s.score);
        } catch {
          // a malformed vector: try the next one
        }
      }
    }
  }
  return undefined;
}

function stringField(obj: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = obj?.[key];
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/**
 * The severity of a record, optionally as it applies to one `affected` entry: the CVSS vector
 * (per-package first, then the record's; v3 preferred as ECR reports CVSS3, then v4, then v2;
 * RustSec keeps its vector in `affected[].database_specific.cvss`), else the record's own word
 * (GitHub's `database_specific.severity`, an `Ubuntu` severity entry, `ecosystem_specific`
 * `severity`/`urgency`), else INFORMATIONAL for RustSec's informational notices
 * (unmaintained, unsound), else UNDEFINED.
 */
export function recordSeverity(record: OsvRecord, affected?: OsvAffected): SeverityResult {
  const rustsecCvss = stringField(affected?.database_specific, 'cvss');
  const lists: (OsvSeverity[] | undefined)[] = [affected?.severity, record.severity];
  if (rustsecCvss !== undefined) lists.push([{ type: rustsecCvss.startsWith('CVSS:4.0/') ? 'CVSS_V4' : 'CVSS_V3', score: rustsecCvss }]);
  const cvss = bestCvss(lists);
  const word =
    stringField(affected?.ecosystem_specific, 'severity') ??
    stringField(affected?.ecosystem_specific, 'urgency') ??
    stringField(affected?.database_specific, 'severity') ??
    stringField(affected?.database_specific, 'urgency') ??
    stringField(record.database_specific, 'severity') ??
    stringField(record.database_specific, 'urgency') ??
    [...(affected?.severity ?? []), ...record.severity].find((s) => s.type === 'Ubuntu')?.score;
  const result: SeverityResult = { severity: 'UNDEFINED' };
  if (word !== undefined) result.vendorSeverity = word;
  if (cvss !== undefined) {
    result.severity = severityFromScore(cvss.baseScore);
    result.score = cvss.baseScore;
    result.vector = cvss.vector;
    result.cvssVersion = cvss.version;
    return result;
  }
  if (word !== undefined) result.severity = severityFromText(word);
  if (result.severity === 'UNDEFINED' && stringField(affected?.database_specific, 'informational') !== undefined) {
    result.severity = 'INFORMATIONAL';
  }
  return result;
}

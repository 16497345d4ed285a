/**
 * OSV (Open Source Vulnerability) records: the types berth matches against, and a parser that
 * checks a record's shape before it reaches the database or the matcher.
 *
 * Schema: https://ossf.github.io/osv-schema/ (JSON Schema draft 2020-12, shipped in
 * shared/vulndata/schema/osv-schema.json). The parser is deliberately lenient about the parts the
 * matcher never reads (references, credits): a record must not be dropped over a malformed
 * reference URL (GHSA-6fxm-66hq-fc96 has one), but a record whose id, dates or `affected`
 * entries are unusable is rejected with a message that names the record and the field.
 */

export type OsvRangeType = 'ECOSYSTEM' | 'SEMVER' | 'GIT';

/** One event of a range. Exactly one key is set, per the schema's `oneOf`. */
export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: OsvRangeType;
  /** Only for GIT ranges. */
  repo?: string;
  events: OsvEvent[];
  database_specific?: Record<string, unknown>;
}

export interface OsvSeverity {
  /** CVSS_V2 | CVSS_V3 | CVSS_V4 | Ubuntu | ... */
  type: string;
  /** A CVSS vector string, or for `Ubuntu` a priority word. */
  score: string;
}

export interface OsvPackage {
  /** `Debian:12`, `Alpine:v3.20`, `PyPI`, `Go`, ... (osv-schema's ecosystem list plus a suffix). */
  ecosystem: string;
  name: string;
  purl?: string;
}

export interface OsvAffected {
  /** Absent only in records that describe a GIT-only vulnerability. */
  package?: OsvPackage;
  severity?: OsvSeverity[];
  ranges: OsvRange[];
  versions: string[];
  ecosystem_specific?: Record<string, unknown>;
  database_specific?: Record<string, unknown>;
}

export interface OsvReference {
  type: string;
  url: string;
}

export interface OsvRecord {
  schema_version?: string;
  id: string;
  /** RFC 3339 timestamp. */
  modified: string;
  published?: string;
  /** A withdrawn record must never produce a finding. */
  withdrawn?: string;
  aliases: string[];
  related: string[];
  upstream: string[];
  summary?: string;
  details?: string;
  severity: OsvSeverity[];
  affected: OsvAffected[];
  references: OsvReference[];
  credits?: unknown[];
  database_specific?: Record<string, unknown>;
}

/** A record failed validation. `recordId` is set when the id itself was readable. */
export class OsvRecordError extends Error {
  override readonly name = 'OsvRecordError';
  constructor(
    message: string,
    readonly recordId?: string,
  ) {
    super(message);
  }
}

const RANGE_TYPES: ReadonlySet<string> = new Set(['ECOSYSTEM', 'SEMVER', 'GIT']);
const EVENT_KEYS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;
// RFC 3339 as the schema's `timestamp` pattern has it (a 'T' or space separator, zone required).
const TIMESTAMP = /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, field: string, id: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new OsvRecordError(`${id}: ${field} must be an array of strings`, id);
  }
  return v as string[];
}

function optionalString(v: unknown, field: string, id: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new OsvRecordError(`${id}: ${field} must be a string`, id);
  return v;
}

function optionalObject(v: unknown, field: string, id: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new OsvRecordError(`${id}: ${field} must be an object`, id);
  return v;
}

function timestamp(v: unknown, field: string, id: string, required: boolean): string | undefined {
  if (v === undefined || v === null) {
    if (required) throw new OsvRecordError(`${id}: ${field} is required`, id);
    return undefined;
  }
  if (typeof v !== 'string' || !TIMESTAMP.test(v)) {
    throw new OsvRecordError(`${id}: ${field} must be an RFC 3339 timestamp`, id);
  }
  return v;
}

function severities(v: unknown, field: string, id: string): OsvSeverity[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OsvRecordError(`${id}: ${field} must be an array`, id);
  return v.map((s, i) => {
    if (!isObject(s) || typeof s.type !== 'string' || typeof s.score !== 'string') {
      throw new OsvRecordError(`${id}: ${field}[${i}] must have string type and score`, id);
    }
    return { type: s.type, score: s.score };
  });
}

function parseRange(v: unknown, where: string, id: string): OsvRange {
  if (!isObject(v)) throw new OsvRecordError(`${id}: ${where} must be an object`, id);
  if (typeof v.type !== 'string' || !RANGE_TYPES.has(v.type)) {
    throw new OsvRecordError(`${id}: ${where}.type must be ECOSYSTEM, SEMVER or GIT`, id);
  }
  if (!Array.isArray(v.events) || v.events.length === 0) {
    throw new OsvRecordError(`${id}: ${where}.events must be a non-empty array`, id);
  }
  const events = v.events.map((e, i): OsvEvent => {
    if (!isObject(e)) throw new OsvRecordError(`${id}: ${where}.events[${i}] must be an object`, id);
    const keys = EVENT_KEYS.filter((k) => e[k] !== undefined);
    const key = keys[0];
    if (keys.length !== 1 || key === undefined || typeof e[key] !== 'string' || e[key] === '') {
      throw new OsvRecordError(
        `${id}: ${where}.events[${i}] must have exactly one of introduced, fixed, last_affected, limit as a non-empty string`,
        id,
      );
    }
    return { [key]: e[key] } as OsvEvent;
  });
  if (!events.some((e) => e.introduced !== undefined)) {
    throw new OsvRecordError(`${id}: ${where}.events must contain an introduced event`, id);
  }
  const range: OsvRange = { type: v.type as OsvRangeType, events };
  const repo = optionalString(v.repo, `${where}.repo`, id);
  if (repo !== undefined) range.repo = repo;
  const dbs = optionalObject(v.database_specific, `${where}.database_specific`, id);
  if (dbs !== undefined) range.database_specific = dbs;
  return range;
}

function parseAffected(v: unknown, where: string, id: string): OsvAffected {
  if (!isObject(v)) throw new OsvRecordError(`${id}: ${where} must be an object`, id);
  const affected: OsvAffected = { ranges: [], versions: [] };
  if (v.package !== undefined && v.package !== null) {
    const p = v.package;
    if (!isObject(p) || typeof p.ecosystem !== 'string' || typeof p.name !== 'string' || p.ecosystem === '' || p.name === '') {
      throw new OsvRecordError(`${id}: ${where}.package must have non-empty ecosystem and name strings`, id);
    }
    affected.package = { ecosystem: p.ecosystem, name: p.name };
    const purl = optionalString(p.purl, `${where}.package.purl`, id);
    if (purl !== undefined) affected.package.purl = purl;
  }
  if (v.ranges !== undefined && v.ranges !== null) {
    if (!Array.isArray(v.ranges)) throw new OsvRecordError(`${id}: ${where}.ranges must be an array`, id);
    affected.ranges = v.ranges.map((r, i) => parseRange(r, `${where}.ranges[${i}]`, id));
  }
  affected.versions = stringList(v.versions, `${where}.versions`, id);
  if (v.severity !== undefined && v.severity !== null) affected.severity = severities(v.severity, `${where}.severity`, id);
  const es = optionalObject(v.ecosystem_specific, `${where}.ecosystem_specific`, id);
  if (es !== undefined) affected.ecosystem_specific = es;
  const ds = optionalObject(v.database_specific, `${where}.database_specific`, id);
  if (ds !== undefined) affected.database_specific = ds;
  return affected;
}

/**
 * Validate and normalise one OSV record (parsed JSON). Optional arrays come back as `[]`, so
 * callers never test for null. Throws OsvRecordError naming the record and the bad field.
 * References with a bad shape are dropped rather than failing the record.
 */
export function parseOsvRecord(json: unknown): OsvRecord {
  if (!isObject(json)) throw new OsvRecordError('an OSV record must be a JSON object');
  const rawId = json.id;
  if (typeof rawId !== 'string' || rawId.trim() === '') {
    throw new OsvRecordError('an OSV record must have a non-empty string id');
  }
  const id = rawId;
  const record: OsvRecord = {
    id,
    modified: timestamp(json.modified, 'modified', id, true) as string,
    aliases: stringList(json.aliases, 'aliases', id),
    related: stringList(json.related, 'related', id),
    upstream: stringList(json.upstream, 'upstream', id),
    severity: severities(json.severity, 'severity', id),
    affected: [],
    references: [],
  };
  const schemaVersion = optionalString(json.schema_version, 'schema_version', id);
  if (schemaVersion !== undefined) record.schema_version = schemaVersion;
  const published = timestamp(json.published, 'published', id, false);
  if (published !== undefined) record.published = published;
  const withdrawn = timestamp(json.withdrawn, 'withdrawn', id, false);
  if (withdrawn !== undefined) record.withdrawn = withdrawn;
  const summary = optionalString(json.summary, 'summary', id);
  if (summary !== undefined) record.summary = summary;
  const details = optionalString(json.details, 'details', id);
  if (details !== undefined) record.details = details;
  if (json.affected !== undefined && json.affected !== null) {
    if (!Array.isArray(json.affected)) throw new OsvRecordError(`${id}: affected must be an array`, id);
    record.affected = json.affected.map((a, i) => parseAffected(a, `affected[${i}]`, id));
  }
  if (Array.isArray(json.references)) {
    for (const r of json.references) {
      if (isObject(r) && typeof r.url === 'string' && typeof r.type === 'string') {
        record.references.push({ type: r.type, url: r.url });
      }
    }
  }
  if (Array.isArray(json.credits)) record.credits = json.credits;
  const ds = optionalObject(json.database_specific, 'database_specific', id);
  if (ds !== undefined) record.database_specific = ds;
  return record;
}

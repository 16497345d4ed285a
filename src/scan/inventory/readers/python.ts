import type { Package } from '../types.js';

/**
 * Read Python core metadata: a `*.dist-info/METADATA`, `*.egg-info/PKG-INFO` or a single-file
 * `*.egg-info`. The Name and Version headers are used as written (matching normalises names).
 */
export function readPythonMetadata(text: string): Package | undefined {
  let name: string | undefined;
  let version: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') break; // headers end at the first blank line; the body follows
    if (name === undefined && /^Name:/i.test(line)) name = line.slice(5).trim();
    else if (version === undefined && /^Version:/i.test(line)) version = line.slice(8).trim();
    if (name !== undefined && version !== undefined) break;
  }
  if (!name || !version) return undefined;
  return pypi(name, version);
}

/**
 * Read the exactly pinned (`name==version`) lines of a pip requirements file. Later repeats of a
 * project (same PEP 503 name) are dropped. Options, ranges, URLs and includes are ignored.
 */
export function readRequirements(text: string): Package[] {
  const out: Package[] = [];
  const seen = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '' || line.startsWith('-')) continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)\s*(?:;.*)?$/.exec(line);
    if (!m?.[1] || !m[2] || m[2].includes('*')) continue;
    const key = normalizePyPIName(m[1]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(pypi(m[1], m[2]));
  }
  return out;
}

/** PEP 503 normalisation. */
export function normalizePyPIName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function pypi(name: string, version: string): Package {
  return { ecosystem: 'PyPI', name, version, purl: `pkg:pypi/${normalizePyPIName(name)}@${encodeURIComponent(version)}` };
}

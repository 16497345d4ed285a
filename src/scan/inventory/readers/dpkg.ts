import type { Package } from '../types.js';

/**
 * Read a dpkg status database (`var/lib/dpkg/status`, or one file of `status.d/`).
 * Only packages whose Status says "installed" are returned. `sourceName` is the Source field (or
 * the package itself); `sourceVersion` is the version in `Source: name (version)` or the binary
 * version. Tolerates damaged paragraphs: a paragraph without Package or Version is skipped.
 */
export function readDpkgStatus(text: string, ecosystem = 'Debian'): Package[] {
  const out: Package[] = [];
  for (const para of paragraphs(text)) {
    const name = para.get('package');
    const version = para.get('version');
    if (!name || !version) continue;
    const status = para.get('status');
    // distroless status.d entries have no Status field: they are installed by construction.
    if (status !== undefined && status.split(/\s+/)[2] !== 'installed') continue;
    let sourceName = name;
    let sourceVersion = version;
    const source = para.get('source');
    if (source) {
      const m = /^(\S+)(?:\s+\(([^)]+)\))?/.exec(source);
      if (m?.[1]) {
        sourceName = m[1];
        if (m[2]) sourceVersion = m[2].trim();
      }
    }
    const arch = para.get('architecture');
    out.push({
      ecosystem,
      name,
      version,
      sourceName,
      sourceVersion,
      purl: `pkg:deb/${ecosystem.toLowerCase()}/${encodeURIComponent(name)}@${encodeURIComponent(version)}${arch ? `?arch=${encodeURIComponent(arch)}` : ''}`,
    });
  }
  return out;
}

/** RFC 822-style paragraphs (dpkg control format); keys lower-cased, continuation lines kept out. */
export function* paragraphs(text: string): Generator<Map<string, string>> {
  let cur = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (cur.size > 0) yield cur;
      cur = new Map();
      continue;
    }
    const c = line.charCodeAt(0);
    if (c === 32 || c === 9) continue; // continuation of a multi-line field: not needed
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).toLowerCase();
    // only the single-line fields the readers use
    if (key.length > 12) continue;
    cur.set(key, line.slice(colon + 1).trim());
  }
  if (cur.size > 0) yield cur;
}

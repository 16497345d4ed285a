import type { Package } from '../types.js';

/**
 * Read a `Cargo.lock` (v1-v4): every `[[package]]` table's name and version, including the
 * workspace's own crates (they have no `source`). Only the few keys needed are parsed.
 */
export function readCargoLock(text: string): Package[] {
  const out: Package[] = [];
  let inPackage = false;
  let name: string | undefined;
  let version: string | undefined;
  const flush = (): void => {
    if (inPackage && name && version) {
      out.push({ ecosystem: 'crates.io', name, version, purl: `pkg:cargo/${name}@${encodeURIComponent(version)}` });
    }
    name = version = undefined;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      flush();
      inPackage = line === '[[package]]';
      continue;
    }
    if (!inPackage) continue;
    const m = /^(name|version)\s*=\s*"([^"]*)"/.exec(line);
    if (!m) continue;
    if (m[1] === 'name') name = m[2];
    else version = m[2];
  }
  flush();
  return out;
}

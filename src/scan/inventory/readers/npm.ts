import type { Package } from '../types.js';

/** An npm package found in a lockfile, with the lockfile key it came from. */
export interface NpmLockEntry extends Package {
  lockPath: string;
}

/**
 * Read an npm `package-lock.json` (or `npm-shrinkwrap.json`, or the hidden
 * `node_modules/.package-lock.json`). v2/v3 use the flat `packages` map keyed by install path;
 * v1 nests `dependencies`. The root project, links and bundled-but-unversioned entries are skipped.
 * Throws on invalid JSON.
 */
export function readPackageLock(text: string): NpmLockEntry[] {
  const doc = JSON.parse(text) as unknown;
  if (!isObject(doc)) return [];
  const out: NpmLockEntry[] = [];
  const packages = doc['packages'];
  if (isObject(packages)) {
    for (const [key, value] of Object.entries(packages)) {
      if (key === '' || !isObject(value) || value['link'] === true) continue;
      const at = key.lastIndexOf('node_modules/');
      if (at < 0) continue; // a workspace folder, not an installed package
      const name = typeof value['name'] === 'string' ? value['name'] : key.slice(at + 'node_modules/'.length);
      const version = value['version'];
      if (typeof version !== 'string' || version === '' || !name) continue;
      out.push(npmEntry(name, version, key));
    }
    return out;
  }
  const walk = (deps: unknown, prefix: string): void => {
    if (!isObject(deps)) return;
    for (const [name, value] of Object.entries(deps)) {
      if (!isObject(value)) continue;
      const lockPath = `${prefix}node_modules/${name}`;
      const version = value['version'];
      if (typeof version === 'string' && version !== '' && !version.startsWith('file:') && !version.startsWith('link:')) {
        out.push(npmEntry(name, aliasVersion(version), lockPath));
      }
      walk(value['dependencies'], `${lockPath}/`);
    }
  };
  walk(doc['dependencies'], '');
  return out;
}

/** v1 aliases are written `npm:real-name@1.2.3`; the installed version is after the last `@`. */
function aliasVersion(v: string): string {
  if (!v.startsWith('npm:')) return v;
  const at = v.lastIndexOf('@');
  return at > 4 ? v.slice(at + 1) : v;
}

function npmEntry(name: string, version: string, lockPath: string): NpmLockEntry {
  return { ecosystem: 'npm', name, version, lockPath, purl: npmPurl(name, version) };
}

/**
 * Read an installed package's `node_modules/<name>/package.json`. Returns undefined for a
 * package.json without name and version (a project root or a fragment). Throws on invalid JSON.
 */
export function readInstalledPackageJson(text: string): Package | undefined {
  const doc = JSON.parse(text) as unknown;
  if (!isObject(doc)) return undefined;
  const { name, version } = doc;
  if (typeof name !== 'string' || typeof version !== 'string' || name === '' || version === '') return undefined;
  return { ecosystem: 'npm', name, version, purl: npmPurl(name, version) };
}

function npmPurl(name: string, version: string): string {
  const n = name.startsWith('@') ? `%40${name.slice(1)}` : name;
  return `pkg:npm/${n}@${encodeURIComponent(version)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

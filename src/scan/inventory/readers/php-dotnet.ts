import type { Package } from '../types.js';

/** Read a PHP `composer.lock`: `packages` and `packages-dev`, names as `vendor/name`. Throws on invalid JSON. */
export function readComposerLock(text: string): Package[] {
  const doc = JSON.parse(text) as { packages?: unknown; 'packages-dev'?: unknown };
  const out: Package[] = [];
  for (const list of [doc.packages, doc['packages-dev']]) {
    if (!Array.isArray(list)) continue;
    for (const p of list as Array<{ name?: unknown; version?: unknown }>) {
      if (typeof p?.name !== 'string' || typeof p.version !== 'string' || p.name === '' || p.version === '') continue;
      // composer writes tags as they are in the repository, often with a leading v
      const version = p.version.replace(/^v(?=\d)/, '');
      out.push({ ecosystem: 'Packagist', name: p.name, version, purl: `pkg:composer/${p.name}@${encodeURIComponent(version)}` });
    }
  }
  return out;
}

/**
 * Read a .NET `<app>.deps.json`: the `libraries` entries of type `package` (`Name/Version`).
 * Project references and the framework itself are skipped. Throws on invalid JSON.
 */
export function readDotnetDeps(text: string): Package[] {
  const doc = JSON.parse(text) as { libraries?: Record<string, { type?: string }> };
  const out: Package[] = [];
  for (const [key, lib] of Object.entries(doc.libraries ?? {})) {
    if (lib?.type !== 'package') continue;
    const slash = key.lastIndexOf('/');
    if (slash <= 0 || slash === key.length - 1) continue;
    const name = key.slice(0, slash);
    const version = key.slice(slash + 1);
    out.push({ ecosystem: 'NuGet', name, version, purl: `pkg:nuget/${name}@${encodeURIComponent(version)}` });
  }
  return out;
}

import type { Package } from '../types.js';

/**
 * Read an installed gem's `specifications/<name>-<version>.gemspec` (the Ruby file RubyGems
 * writes): `s.name = "rake".freeze` and `s.version = "13.0.6"`.
 */
export function readGemspec(text: string): Package | undefined {
  const name = /^\s*\w+\.name\s*=\s*["']([^"']+)["']/m.exec(text)?.[1];
  const version = /^\s*\w+\.version\s*=\s*["']([^"']+)["']/m.exec(text)?.[1];
  if (!name || !version) return undefined;
  return gem(name, version);
}

/** Read the `GEM` section's `specs:` of a `Gemfile.lock` (four-space entries `name (version)`). */
export function readGemfileLock(text: string): Package[] {
  const out: Package[] = [];
  let section = '';
  let inSpecs = false;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      section = line.trim();
      inSpecs = false;
      continue;
    }
    if (section !== 'GEM') continue;
    if (line.trim() === 'specs:') {
      inSpecs = true;
      continue;
    }
    if (!inSpecs) continue;
    const m = /^ {4}([^\s(]+) \(([^)]+)\)\s*$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    // platform gems are written `nokogiri (1.15.4-x86_64-linux)`
    const version = m[2].split('-')[0] ?? m[2];
    out.push(gem(m[1], version));
  }
  return out;
}

function gem(name: string, version: string): Package {
  return { ecosystem: 'RubyGems', name, version, purl: `pkg:gem/${name}@${encodeURIComponent(version)}` };
}

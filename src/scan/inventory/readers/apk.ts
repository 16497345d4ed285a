import type { Package } from '../types.js';

/**
 * Read an apk installed database (`lib/apk/db/installed`). Records are separated by blank lines;
 * `P:` name, `V:` version, `o:` origin (the source package), `A:` architecture.
 */
export function readApkInstalled(text: string, ecosystem = 'Alpine'): Package[] {
  const out: Package[] = [];
  let name: string | undefined;
  let version: string | undefined;
  let origin: string | undefined;
  let arch: string | undefined;
  const flush = (): void => {
    if (name && version) {
      out.push({
        ecosystem,
        name,
        version,
        sourceName: origin ?? name,
        sourceVersion: version,
        purl: `pkg:apk/${ecosystem.toLowerCase()}/${encodeURIComponent(name)}@${encodeURIComponent(version)}${arch ? `?arch=${encodeURIComponent(arch)}` : ''}`,
      });
    }
    name = version = origin = arch = undefined;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line.length < 2 || line[1] !== ':') continue;
    const v = line.slice(2).trim();
    switch (line[0]) {
      case 'P': name = v; break;
      case 'V': version = v; break;
      case 'o': origin = v; break;
      case 'A': arch = v; break;
    }
  }
  flush();
  return out;
}

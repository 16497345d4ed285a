import yauzl from 'yauzl';
import type { Package } from '../types.js';

/** Parse a `META-INF/maven/<group>/<artifact>/pom.properties`. */
export function readPomProperties(text: string): Package | undefined {
  const props = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (m?.[1]) props.set(m[1], (m[2] ?? '').trim());
  }
  const g = props.get('groupId');
  const a = props.get('artifactId');
  const v = props.get('version');
  if (!g || !a || !v) return undefined;
  return maven(g, a, v);
}

/** Parse a JAR manifest into its main section and the named per-entry sections. */
export function parseManifest(text: string): Array<Map<string, string>> {
  const sections: Array<Map<string, string>> = [new Map()];
  let lastKey: string | undefined;
  for (const raw of text.replace(/\r/g, '').split('\n')) {
    const cur = sections[sections.length - 1]!;
    if (raw === '') {
      if (cur.size > 0) sections.push(new Map());
      lastKey = undefined;
      continue;
    }
    if (raw.startsWith(' ') && lastKey) {
      cur.set(lastKey, (cur.get(lastKey) ?? '') + raw.slice(1));
      continue;
    }
    const colon = raw.indexOf(':');
    if (colon <= 0) continue;
    lastKey = raw.slice(0, colon).trim().toLowerCase();
    cur.set(lastKey, raw.slice(colon + 1).trim());
  }
  return sections.filter((s) => s.size > 0);
}

const TOKEN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Identify a jar that has no pom.properties from its manifest (the fallback a scanner needs for
 * old jars such as log4j 1.2.17): artifactId from Implementation-Title when it is a plain token,
 * else from the archive file name; groupId from Implementation-Vendor-Id, else the artifactId
 * (the old Maven convention: log4j:log4j, commons-io:commons-io); version from
 * Implementation-Version, else Bundle-Version. Undefined when no plausible coordinate results.
 */
export function readManifestIdentity(text: string, archiveName?: string): Package | undefined {
  const sections = parseManifest(text);
  const pick = (key: string): string | undefined => {
    for (const s of sections) {
      const v = s.get(key)?.replace(/^"|"$/g, '').trim();
      if (v) return v;
    }
    return undefined;
  };
  const version = pick('implementation-version') ?? pick('bundle-version');
  if (!version || !/^[0-9]/.test(version)) return undefined;
  let artifact = pick('implementation-title');
  if (!artifact || !TOKEN.test(artifact)) {
    artifact = undefined;
    const file = archiveName?.split('/').pop()?.replace(/\.(jar|war|ear)$/i, '');
    if (file?.endsWith(`-${version}`)) artifact = file.slice(0, -(version.length + 1));
  }
  if (!artifact || !TOKEN.test(artifact)) return undefined;
  const vendorId = pick('implementation-vendor-id');
  const group = vendorId && TOKEN.test(vendorId) ? vendorId : artifact;
  return maven(group, artifact, version);
}

function maven(group: string, artifact: string, version: string): Package {
  return {
    ecosystem: 'Maven',
    name: `${group}:${artifact}`,
    version,
    purl: `pkg:maven/${encodeURIComponent(group)}/${encodeURIComponent(artifact)}@${encodeURIComponent(version)}`,
  };
}

/** Limits for reading archives inside archives. */
export interface JavaArchiveLimits {
  /** Most bytes of nested archives held in memory at once, per archive level. */
  maxNestedBytes: number;
  /** How deep archives inside archives are followed. */
  maxDepth: number;
}

const NESTED = /\.(jar|war|ear)$/i;
const POM = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;

/**
 * Read the Maven packages of a Java archive (jar/war/ear) held in memory: every
 * `META-INF/maven/<g>/<a>/pom.properties`, else the manifest identity, then the archives inside it
 * (`WEB-INF/lib`, `BOOT-INF/lib`, ...) recursively. `path` is `<name>` or `<name>!<inner path>`.
 * Problems in nested archives become warnings; rejects only when the outer buffer is not a zip.
 */
export async function readJavaArchive(
  buf: Buffer,
  name: string,
  limits: JavaArchiveLimits = { maxNestedBytes: 64 * 1024 * 1024, maxDepth: 3 },
  warnings: string[] = [],
  depth = 0,
): Promise<Package[]> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(buf, { lazyEntries: true, decodeStrings: true }, (err, z) => (err || !z ? reject(err ?? new Error('not a zip')) : resolve(z))),
  );
  const poms: Package[] = [];
  let manifest: string | undefined;
  const nested: Array<{ path: string; data: Buffer }> = [];
  let heldBytes = 0;
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      const p = entry.fileName;
      const wantPom = POM.test(p) && entry.uncompressedSize <= 64 * 1024;
      const wantManifest = p === 'META-INF/MANIFEST.MF' && entry.uncompressedSize <= 1024 * 1024;
      // nested archives are held until the outer one is done: their total is capped, not each one
      const wantNested = depth < limits.maxDepth && NESTED.test(p) && heldBytes + entry.uncompressedSize <= limits.maxNestedBytes;
      if (NESTED.test(p) && !wantNested) warnings.push(`${name}!${p}: nested archive not read (over the size budget or too deep)`);
      if (wantNested) heldBytes += entry.uncompressedSize;
      if (!wantPom && !wantManifest && !wantNested) {
        zip.readEntry();
        return;
      }
      zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) {
          warnings.push(`${name}!${p}: ${err?.message ?? 'unreadable entry'}`);
          zip.readEntry();
          return;
        }
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', (e: Error) => {
          warnings.push(`${name}!${p}: ${e.message}`);
          zip.readEntry();
        });
        stream.on('end', () => {
          const data = Buffer.concat(chunks);
          if (wantPom) {
            const pkg = readPomProperties(data.toString('utf8'));
            if (pkg) poms.push({ ...pkg, path: name });
          } else if (wantManifest) manifest = data.toString('utf8');
          else nested.push({ path: p, data });
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
  zip.close();
  const out: Package[] = [...poms];
  if (poms.length === 0 && manifest !== undefined) {
    const pkg = readManifestIdentity(manifest, name);
    if (pkg) out.push({ ...pkg, path: name });
  }
  for (const n of nested) {
    const inner = `${name}!${n.path}`;
    try {
      out.push(...(await readJavaArchive(n.data, inner, limits, warnings, depth + 1)));
    } catch (err) {
      warnings.push(`${inner}: ${(err as Error).message}`);
    }
  }
  return out;
}

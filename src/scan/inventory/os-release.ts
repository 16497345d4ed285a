import type { OsRelease } from './types.js';

/** Parse os-release(5) text. Returns undefined when there is no ID. */
export function parseOsRelease(text: string): OsRelease | undefined {
  const fields = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    fields.set(line.slice(0, eq), unquote(line.slice(eq + 1)));
  }
  const id = fields.get('ID');
  if (!id) return undefined;
  const os: OsRelease = { id: id.toLowerCase() };
  const versionId = fields.get('VERSION_ID');
  if (versionId) os.versionId = versionId;
  const codename = fields.get('VERSION_CODENAME');
  if (codename) os.versionCodename = codename;
  const name = fields.get('NAME');
  if (name) os.name = name;
  const pretty = fields.get('PRETTY_NAME');
  if (pretty) os.prettyName = pretty;
  return os;
}

function unquote(v: string): string {
  const q = v[0];
  if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
    return v.slice(1, -1).replace(/\\(["'$`\\])/g, '$1');
  }
  return v;
}

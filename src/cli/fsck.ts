import { checkIntegrity, formatBytes, type Finding, type FsckReport } from '../gc/index.js';
import { stdio, withDataDir, type Io } from './gc.js';

export const FSCK_USAGE = `usage: berth fsck [--repair] [--no-hash] [--gc-grace DURATION] [options of serve]

Checks a data folder: re-hashes every blob, checks that every blob row has its file (of its size)
and every file in the blob area its row, that every manifest's blobs and child manifests are
there, that every manifest's stored body hashes to its digest, and that every tag points at a
manifest. Safe while the server runs (--data / BERTH_DATA_DIR, --config, BERTH_MASTER_KEY).

  --repair             fix what is safe to fix: remove files without a row older than the grace
                       period, drop the rows of lost or damaged blobs that nothing references,
                       move damaged files to <data>/quarantine/, link referenced blobs back to
                       their repositories, drop dangling tags; report the rest with what to do
  --no-hash            check sizes only, without reading every blob
  --gc-grace DURATION  files without a row younger than this are uploads being recorded, not
                       problems (BERTH_GC_GRACE, default 24h)

Exit status: 0 when no problem remains, 1 when some do (or the check failed), 2 wrong usage.
`;

/** `berth fsck [--repair]`: returns the exit status. */
export async function fsckCommand(argv: readonly string[], io: Io = stdio): Promise<number> {
  return withDataDir(argv, FSCK_USAGE, ['repair', 'no-hash'], io, async (data, flags, config) => {
    const report = await checkIntegrity(data.meta, data.blobs, {
      repair: flags['repair']!,
      hash: !flags['no-hash'],
      graceMs: config.gc.graceSeconds * 1000,
      onFinding: (finding) => io.out(findingLines(finding)),
      onProgress: (p) =>
        io.err(
          `fsck: ${p.phase}: ${p.done}${p.total !== undefined ? ` of ${p.total}` : ''} checked` +
            (p.hashedBytes > 0 ? ` (${formatBytes(p.hashedBytes)} hashed)` : '') +
            '\n',
        ),
    });
    io.out(fsckSummary(report));
    return report.problems > 0 ? 1 : 0;
  });
}

function findingLines(f: Finding): string {
  const head = `${f.repaired ? 'REPAIRED' : 'PROBLEM '} ${f.kind} ${f.subject}: ${f.problem}\n`;
  if (f.repaired) return `${head}         ${f.repaired}\n`;
  return f.advice ? `${head}         what to do: ${f.advice}\n` : head;
}

/** The closing lines of `berth fsck`. */
export function fsckSummary(r: FsckReport): string {
  const checked =
    `checked ${r.blobs} blobs${r.hashedBytes > 0 ? ` (${formatBytes(r.hashedBytes)} hashed)` : ''}, ${r.files} files ` +
    `and ${r.manifests} manifests in ${(r.durationMs / 1000).toFixed(1)} s`;
  const lines = [checked];
  if (r.recentFiles > 0) {
    lines.push(`${r.recentFiles} file${r.recentFiles === 1 ? '' : 's'} without a blob row within the grace period: uploads being recorded, or leftovers that garbage collection removes later (not a problem)`);
  }
  const remaining = Object.entries(r.remaining).map(([kind, n]) => `${n} ${kind}`);
  if (r.repaired > 0) lines.push(`repaired ${r.repaired}`);
  lines.push(
    r.problems === 0
      ? r.repaired === 0
        ? 'no problems found'
        : 'no problems remain'
      : `${r.problems} problem${r.problems === 1 ? '' : 's'} remain${r.problems === 1 ? 's' : ''} (${remaining.join(', ')})`,
  );
  return `${lines.join('\n')}\n`;
}

import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { buildApp, type App } from '../app.js';
import { ConfigError, type Config } from '../config/index.js';
import { MediaType, digestOf, isDigest, parseAccountId, parseRepositoryName, parseTag, type Digest } from '../core/index.js';
import type { Repository } from '../registry/index.js';
import { SBOM_MEDIA_TYPES, basicFinding, toCycloneDx, toSpdx, type SbomFormat } from '../scan/index.js';
import { stdio, type Io } from './gc.js';
import { missingDeployment, parseCommandArgs } from './vulndb.js';

export const SCAN_USAGE = `usage: berth scan <command> --repository NAME (--digest DIGEST | --tag TAG) [options of serve]

Scans and SBOMs of the images of a deployment; opens the data folder the server uses (--data /
BERTH_DATA_DIR, --config, BERTH_MASTER_KEY) and is safe while the server runs.

commands:
  image     scan the image now, in this process (no job queue, no daily limit), and print its
            findings: one line per finding, gravest first (--json: DescribeImageScanFindings' shape)
  sbom      print the SBOM of a scanned image from its stored inventory: CycloneDX 1.5 JSON
            (default) or SPDX 2.3 JSON (--format spdx). With --attach, also push it to the
            repository as an OCI referrer of the image (artifactType
            application/vnd.cyclonedx+json or application/spdx+json)

options:
  --repository NAME   the repository
  --digest DIGEST     the image manifest, by digest
  --tag TAG           the image manifest, by tag
  --account ID        the repository's account (default: the deployment's default account)
  --format FORMAT     cyclonedx | spdx (sbom)
  --attach            push the SBOM as a referrer of the image (sbom)
  --json              JSON output (image)

Exit status: 0 done, 1 failed, 2 wrong usage.
`;

/** `berth scan`: returns the exit status. */
export async function scanCommand(argv: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h' || rest.includes('--help')) {
    io.out(SCAN_USAGE);
    return command === undefined ? 2 : 0;
  }
  let parsed;
  let target: { account?: string; repository: string; digest?: string; tag?: string; format: SbomFormat };
  try {
    if (command !== 'image' && command !== 'sbom') throw new ConfigError(`unknown command "${command.slice(0, 40)}"`);
    parsed = parseCommandArgs(rest, ['attach', 'json'], ['repository', 'digest', 'tag', 'account', 'format']);
    if (parsed.positionals.length > 0) throw new ConfigError(`unexpected argument "${parsed.positionals[0]!.slice(0, 40)}"`);
    const v = parsed.values;
    if (!v['repository']) throw new ConfigError('--repository is required');
    if (!v['digest'] === !v['tag']) throw new ConfigError('give one of --digest and --tag');
    if (v['digest'] !== undefined && !isDigest(v['digest'])) throw new ConfigError(`--digest: "${v['digest'].slice(0, 80)}" is not a digest`);
    const format = (v['format'] ?? 'cyclonedx').toLowerCase();
    if (format !== 'cyclonedx' && format !== 'spdx') throw new ConfigError('--format must be cyclonedx or spdx');
    target = {
      repository: v['repository'],
      format,
      ...(v['account'] ? { account: v['account'] } : {}),
      ...(v['digest'] ? { digest: v['digest'] } : {}),
      ...(v['tag'] ? { tag: v['tag'] } : {}),
    };
  } catch (err) {
    if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`berth scan: ${(err as Error).message}\n\n${SCAN_USAGE}`);
      return 2;
    }
    throw err;
  }
  const config: Config = parsed.config;
  const missing = missingDeployment(config);
  if (missing) {
    io.err(`berth scan: ${missing}\n`);
    return 1;
  }
  const app = await buildApp({ ...config, logLevel: 'silent' }, { background: false });
  try {
    const repo = await app.registry.repository(parseAccountId(target.account ?? config.accountId), parseRepositoryName(target.repository));
    const digest = target.digest
      ? (target.digest as Digest)
      : ((await app.registry.getManifest(repo, { kind: 'tag', tag: parseTag(target.tag!) })).digest as Digest);
    if (command === 'image') return await scanImage(app, repo, digest, parsed.flags['json']!, io);
    return await sbom(app, repo, digest, target.format, parsed.flags['attach']!, io);
  } catch (err) {
    io.err(`berth scan: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await app.close();
  }
}

async function scanImage(app: App, repo: Repository, digest: Digest, json: boolean, io: Io): Promise<number> {
  const scanning = app.services.scanning;
  const scan = await scanning.scanNow(repo, digest);
  const findings = await scanning.findingsPage(repo, digest, scan.scanType, 0, Number.MAX_SAFE_INTEGER);
  if (json) {
    io.out(
      `${JSON.stringify(
        {
          imageScanStatus: { status: scan.status, description: scan.description },
          imageScanFindings: { findingSeverityCounts: scan.counts, findings: findings.map(basicFinding) },
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  io.out(`${repo.name}@${digest}: ${scan.status}: ${scan.description}\n`);
  for (const f of findings) {
    io.out(`${f.severity.padEnd(13)} ${f.name.padEnd(20)} ${f.package.name} ${f.package.version}${f.fixedVersion ? ` (fixed in ${f.fixedVersion})` : ''}\n`);
  }
  const counts = Object.entries(scan.counts).map(([s, n]) => `${n} ${s}`);
  io.out(`${findings.length} findings${counts.length ? `: ${counts.join(', ')}` : ''}\n`);
  return 0;
}

async function sbom(app: App, repo: Repository, digest: Digest, format: SbomFormat, attach: boolean, io: Io): Promise<number> {
  const scan = await app.services.scanning.scanOf(repo, digest);
  if (!scan?.inventory) {
    io.err(`berth scan: ${repo.name}@${digest} has no completed scan; run "berth scan image" or StartImageScan first\n`);
    return 1;
  }
  const [info] = await app.registry.images.describe(repo, [digest]);
  const subject = {
    repository: repo.name,
    digest,
    tags: info?.tags ?? [],
    createdAt: Date.now(),
    toolVersion: toolVersion(),
  };
  const doc = format === 'spdx' ? toSpdx(scan.inventory, subject) : toCycloneDx(scan.inventory, subject);
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  io.out(text);
  if (attach) {
    const referrer = await attachReferrer(app, repo, digest, Buffer.from(text), SBOM_MEDIA_TYPES[format]);
    io.err(`attached as ${referrer} (artifactType ${SBOM_MEDIA_TYPES[format]}, subject ${digest})\n`);
  }
  return 0;
}

/**
 * Push `body` as an OCI artifact whose subject is `subject` (image-spec v1.1 "artifact manifest"
 * guidance: an image manifest with `artifactType`, the empty config and one layer), through the
 * registry, so that the referrers API and ListImageReferrers list it.
 */
async function attachReferrer(app: App, repo: Repository, subject: Digest, body: Buffer, artifactType: string): Promise<string> {
  const [info] = await app.registry.images.describe(repo, [subject]);
  const subjectManifest = await app.registry.getManifest(repo, { kind: 'digest', digest: subject });
  const empty = Buffer.from('{}');
  const emptyDigest = digestOf(empty, 'sha256');
  const layerDigest = digestOf(body, 'sha256');
  await app.registry.putBlob(repo, emptyDigest, Readable.from([empty]), { length: empty.length });
  await app.registry.putBlob(repo, layerDigest, Readable.from([body]), { length: body.length });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: empty.length },
      layers: [{ mediaType: artifactType, digest: layerDigest, size: body.length }],
      subject: { mediaType: subjectManifest.mediaType, digest: subject, size: info?.size ?? subjectManifest.size },
      annotations: { 'org.opencontainers.image.created': new Date().toISOString(), 'dev.berth.sbom.format': artifactType },
    }),
  );
  const result = await app.registry.putManifest(repo, undefined, manifest, MediaType.ociManifest);
  return result.digest;
}

function toolVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0';
  } catch {
    return '0';
  }
}

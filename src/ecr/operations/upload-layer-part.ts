import { Readable } from 'node:stream';
import { BerthError, isBerthError } from '../../core/index.js';
import { operation } from '../operation.js';
import { constraint, invalid, type Input } from '../validate.js';
import { LAYER_PART_RULES, LayerPartTracker } from './layer-parts.js';

/** The model's pattern of `uploadId`. */
export const UPLOAD_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * UploadLayerPart: append `layerPartBlob` (base64) at the inclusive range
 * `partFirstByte`-`partLastByte`. A part must start exactly where the session is and its range
 * must match its length; otherwise InvalidLayerPartException carrying `lastValidByteReceived`, from
 * which the client resumes (ECR API reference, UploadLayerPart).
 */
export const uploadLayerPart = operation({
  action: 'ecr:UploadLayerPart',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const uploadId = input.string('uploadId', { pattern: UPLOAD_ID });
    const first = requiredLong(input, 'partFirstByte');
    const last = requiredLong(input, 'partLastByte');
    const blob = input.string('layerPartBlob');
    const bytes = Buffer.from(blob, 'base64');
    // Node's decoder skips what is not base64; only a canonical encoding round-trips. (A regular
    // expression over a 27 MB string would be slower and, with groups, can exhaust the stack.)
    if (bytes.toString('base64') !== blob) throw invalid("Value at 'layerPartBlob' must be base64");
    if (bytes.length > LAYER_PART_RULES.maxPartBytes) {
      throw constraint('layerPartBlob', `[${bytes.length} bytes]`, `Member must have length less than or equal to ${LAYER_PART_RULES.maxPartBytes}`);
    }
    return { accountId, name, uploadId, first, last, bytes, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, uploadId, first, last, bytes }, ctx) {
    const repo = await ctx.registry.repository(accountId, name, { origin: ctx.origin });
    const { size } = await ctx.registry.uploadStatus(repo, uploadId);
    // The session's position, as ECR reports it: the last byte held (-1 before the first part).
    const partError = (message: string, held: number) =>
      new BerthError('UPLOAD_INVALID', message, { registryId: accountId, repositoryName: name, uploadId, lastValidByteReceived: held - 1 });
    if (bytes.length === 0) throw partError('layerPartBlob is empty', size);
    if (last - first + 1 !== bytes.length) {
      throw partError(`the part holds ${bytes.length} bytes but partFirstByte ${first} to partLastByte ${last} is ${Math.max(0, last - first + 1)}`, size);
    }
    if (first !== size) throw partError(`the upload holds bytes 0 to ${size - 1}; the next part must start at ${size}, not ${first}`, size);
    if (last + 1 > LAYER_PART_RULES.maxLayerBytes) {
      throw new BerthError('LIMIT_EXCEEDED', `a layer may be at most ${LAYER_PART_RULES.maxLayerBytes} bytes`, { limit: LAYER_PART_RULES.maxLayerBytes });
    }
    const tracker = LayerPartTracker.of(ctx.registry);
    tracker.admit(uploadId);
    let after: number;
    try {
      ({ size: after } = await ctx.registry.appendUpload(repo, uploadId, Readable.from([bytes]), { offset: first, length: bytes.length, signal: ctx.signal }));
    } catch (err) {
      // Another part won the race for this position: report where the session is now.
      if (isBerthError(err, 'UPLOAD_OFFSET_MISMATCH') || isBerthError(err, 'UPLOAD_INVALID')) {
        const now = await ctx.registry.uploadStatus(repo, uploadId);
        throw partError(err.message, now.size);
      }
      throw err;
    }
    tracker.received(uploadId, bytes.length);
    return { registryId: accountId, repositoryName: name, uploadId, lastByteReceived: after - 1 };
  },
});

function requiredLong(input: Input, name: string): number {
  const value = input.optionalInteger(name, { min: 0 });
  if (value === undefined) throw invalid(`1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`);
  return value;
}

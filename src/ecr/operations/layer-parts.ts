import { BerthError } from '../../core/index.js';
import type { Registry } from '../../registry/index.js';

/** ECR's part rules for the JSON upload API (ECR API reference, UploadLayerPart; service quotas). */
export const LAYER_PART_RULES = {
  /** Every part but the last must be at least 5 MiB (LayerPartTooSmallException at completion). */
  minPartBytes: 5 * 1024 * 1024,
  /** The model's limit on `layerPartBlob`, in decoded bytes. */
  maxPartBytes: 20_971_520,
  /** Parts per upload (ECR's default quota; `limits.layerPartsPerUpload` sets berth's). */
  maxParts: 4_200,
  /** Layer size: 52,000 MiB. */
  maxLayerBytes: 52_000 * 1024 * 1024,
  /** What InitiateLayerUpload suggests (`partSize`), the quota table's maximum part size. */
  suggestedPartBytes: 10 * 1024 * 1024,
} as const;

interface PartState {
  parts: number;
  /** The last part received was under the minimum: only the final part may be. */
  lastWasSmall: boolean;
  /** A part followed one under the minimum. */
  tooSmall: boolean;
}

/**
 * What ECR remembers about the parts of an upload session and the OCI door does not: how many
 * parts came, and whether one under 5 MiB was followed by another (then CompleteLayerUpload fails
 * with LayerPartTooSmallException, as in ECR). Kept in memory, per registry, for sessions driven
 * through UploadLayerPart: a restart or another node forgets it, and the rule is then simply not
 * enforced for that session; the bytes and their verification live in the registry as always.
 */
export class LayerPartTracker {
  private static readonly byRegistry = new WeakMap<Registry, LayerPartTracker>();
  /** Bounds memory when clients abandon sessions; the oldest sessions are forgotten first. */
  private static readonly MAX_SESSIONS = 10_000;
  private readonly sessions = new Map<string, PartState>();

  private constructor(private readonly maxParts: number) {}

  static of(registry: Registry): LayerPartTracker {
    let tracker = LayerPartTracker.byRegistry.get(registry);
    if (!tracker) LayerPartTracker.byRegistry.set(registry, (tracker = new LayerPartTracker(registry.maxLayerPartsPerUpload)));
    return tracker;
  }

  /** Check that one more part may come (LIMIT_EXCEEDED past the parts-per-upload quota, 4,200 by default). */
  admit(uploadId: string): void {
    const state = this.sessions.get(uploadId);
    if (state && state.parts >= this.maxParts) {
      throw new BerthError('LIMIT_EXCEEDED', `an upload may have at most ${this.maxParts} parts`, { limit: this.maxParts });
    }
  }

  /** Note a part that was stored. */
  received(uploadId: string, bytes: number): void {
    let state = this.sessions.get(uploadId);
    if (!state) {
      if (this.sessions.size >= LayerPartTracker.MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
      this.sessions.set(uploadId, (state = { parts: 0, lastWasSmall: false, tooSmall: false }));
    }
    if (state.lastWasSmall) state.tooSmall = true;
    state.parts++;
    state.lastWasSmall = bytes < LAYER_PART_RULES.minPartBytes;
  }

  /** Throws LAYER_PART_TOO_SMALL when a part other than the last was under 5 MiB. */
  checkComplete(uploadId: string): void {
    if (this.sessions.get(uploadId)?.tooSmall) {
      throw new BerthError('LAYER_PART_TOO_SMALL', `every part of a layer upload but the last must be at least ${LAYER_PART_RULES.minPartBytes} bytes`);
    }
  }

  forget(uploadId: string): void {
    this.sessions.delete(uploadId);
  }
}

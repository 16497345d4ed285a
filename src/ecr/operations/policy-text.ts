import { BerthError, isBerthError } from '../../core/index.js';
import { MAX_POLICY_LENGTH } from '../../registry/index.js';
import type { Input } from '../validate.js';

/** `policyText` of SetRepositoryPolicy and PutRegistryPolicy: required, 0-10,240 characters (the model's bounds). */
export function readPolicyText(input: Input): string {
  return input.string('policyText', { max: MAX_POLICY_LENGTH });
}

/**
 * Parse a policy with `parse`, turning the engine's INVALID_PARAMETER into ECR's wording for an
 * invalid policy ("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid
 * repository policy provided'"), followed by the engine's message, which names the faulty part.
 */
export function parsePolicyText<T>(kind: 'repository' | 'registry', parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (isBerthError(err, 'INVALID_PARAMETER')) {
      throw new BerthError(
        'INVALID_PARAMETER',
        `Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid ${kind} policy provided': ${err.message}`,
        undefined,
        { cause: err },
      );
    }
    throw err;
  }
}

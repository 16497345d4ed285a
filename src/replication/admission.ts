import { BerthError, isBerthError, parseAccountId, type RepositoryName } from '../core/index.js';
import { authorize, requestTimeKeys } from '../iam/policy/index.js';
import type { Registry, Repository, RepositoryPolicies } from '../registry/index.js';
import { DEFAULT_REPOSITORY_SETTINGS } from '../storage/metadata/index.js';
import { ReplicationFailure } from './copier.js';

/** Creates a destination repository; the repository creation templates service when it exists. */
export type RepositoryCreator = (accountId: string, name: RepositoryName) => Promise<Repository>;

export interface AdmissionDeps {
  readonly registry: Registry;
  readonly policies: RepositoryPolicies;
  /** This deployment's region (the destination's). */
  readonly region: string;
  readonly createRepository?: RepositoryCreator;
}

/**
 * The destination side's decision, as ECR makes it: an image from another account is accepted
 * only when the destination's registry policy allows the source account `ecr:ReplicateImage` on
 * the repository, and `ecr:CreateRepository` too when the repository does not exist yet (ECR user
 * guide, "Configuring permissions for private image replication"). The same account (cross-region)
 * needs no policy. A missing repository is created with the creation template whose `appliedFor`
 * has REPLICATION, or with default settings (unless `create` is false: REPOSITORY_NOT_FOUND).
 * Throws ReplicationFailure REGISTRY_POLICY_DENIED.
 */
export async function admitReplication(
  deps: AdmissionDeps,
  req: { sourceAccount: string; destinationAccount: string; repository: RepositoryName; now: number; create?: boolean },
): Promise<{ repository: Repository; created: boolean }> {
  const account = parseAccountId(req.destinationAccount);
  const existing = await deps.registry.repository(account, req.repository).catch((err: unknown) => {
    if (isBerthError(err, 'REPOSITORY_NOT_FOUND')) return undefined;
    throw err;
  });
  if (req.sourceAccount !== req.destinationAccount) {
    const actions = existing ? ['ecr:ReplicateImage'] : ['ecr:ReplicateImage', 'ecr:CreateRepository'];
    const policy = await deps.policies.registryPolicyOf(account);
    for (const action of actions) {
      const resource = `arn:aws:ecr:${deps.region}:${account}:repository/${req.repository}`;
      const decision = authorize({
        identityPolicies: [],
        ...(policy ? { resourcePolicy: { name: 'registry policy', doc: policy } } : {}),
        ctx: {
          principal: { arn: `arn:aws:iam::${req.sourceAccount}:root`, accountId: req.sourceAccount, type: 'Account' },
          action,
          resource,
          resourceAccount: account,
          keys: { ...requestTimeKeys(req.now) },
        },
      });
      if (decision.effect !== 'Allow') {
        throw new ReplicationFailure(
          'REGISTRY_POLICY_DENIED',
          `the registry policy of ${account} in ${deps.region} does not allow account ${req.sourceAccount} to perform ${action} on ${resource}` +
            (policy ? '' : ' (the registry has no registry policy)'),
          true,
        );
      }
    }
  }
  if (existing) return { repository: existing, created: false };
  if (req.create === false) {
    throw new BerthError('REPOSITORY_NOT_FOUND', `The repository with name '${req.repository}' does not exist in the registry with id '${account}'`);
  }
  try {
    const created = deps.createRepository
      ? await deps.createRepository(account, req.repository)
      : await deps.registry.createRepository(
          account,
          req.repository,
          DEFAULT_REPOSITORY_SETTINGS,
          { arn: `arn:aws:ecr:${deps.region}:${account}:repository/${req.repository}`, tags: [] },
          { via: 'REPLICATION' },
        );
    return { repository: created, created: true };
  } catch (err) {
    // Another copy created it meanwhile.
    if (isBerthError(err, 'REPOSITORY_EXISTS')) return { repository: await deps.registry.repository(account, req.repository), created: false };
    if (isBerthError(err, 'LIMIT_EXCEEDED')) throw new ReplicationFailure('DESTINATION_LIMIT_EXCEEDED', err.message, true, { cause: err });
    throw err;
  }
}

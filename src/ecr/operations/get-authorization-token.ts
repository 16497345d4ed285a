import { constraint } from '../validate.js';
import { epochSeconds, operation } from '../operation.js';

/**
 * GetAuthorizationToken: base64(`AWS:<password>`), valid 12 hours, and the endpoint to log in to.
 * `registryIds` is deprecated: one entry per id given (the credential is the same), else one.
 * Not resource-scoped: only an identity policy can grant it.
 */
export const getAuthorizationToken = operation({
  action: 'ecr:GetAuthorizationToken',
  prepare(input, ctx) {
    const ids = (input.optionalList('registryIds', { min: 1, max: 10 }) ?? []).map((id, i) => {
      if (typeof id !== 'string' || !/^[0-9]{12}$/.test(id)) {
        throw constraint(`registryIds.${i + 1}.member`, id, 'Member must satisfy regular expression pattern: [0-9]{12}');
      }
      return id;
    });
    return { registryIds: ids.length > 0 ? ids : [ctx.principal.accountId], resource: { accountId: ctx.principal.accountId } };
  },
  async run({ registryIds }, ctx) {
    const { token, expiresAt } = ctx.auth.issueRegistryToken(ctx.principal, ctx.now());
    const authorizationToken = Buffer.from(`AWS:${token}`).toString('base64');
    return {
      authorizationData: registryIds.map(() => ({
        authorizationToken,
        expiresAt: epochSeconds(expiresAt),
        proxyEndpoint: ctx.publicUrl,
      })),
    };
  },
});

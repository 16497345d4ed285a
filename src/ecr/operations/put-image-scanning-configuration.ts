import { operation } from '../operation.js';

/** PutImageScanningConfiguration: the per-repository scan-on-push switch (acted on by scanning, #6). */
export const putImageScanningConfiguration = operation({
  action: 'ecr:PutImageScanningConfiguration',
  prepare(input, ctx) {
    const accountId = input.registryId(ctx.principal.accountId);
    const name = input.repositoryName();
    const scanOnPush = input.object('imageScanningConfiguration').optionalBoolean('scanOnPush') ?? false;
    return { accountId, name, scanOnPush, resource: { accountId, repositoryName: name } };
  },
  async run({ accountId, name, scanOnPush }, ctx) {
    const repo = await ctx.registry.updateRepository(await ctx.registry.repository(accountId, name, { origin: ctx.origin }), { scanOnPush });
    return { registryId: accountId, repositoryName: name, imageScanningConfiguration: { scanOnPush: repo.row.scanOnPush } };
  },
});

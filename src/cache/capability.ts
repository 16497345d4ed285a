import type { Capability } from '../capabilities.js';
import { parseLifecyclePolicy } from '../lifecycle/index.js';
import { SecretStore } from '../secrets/index.js';
import { TemplateService } from '../templates/index.js';
import { CacheRuleStore } from './rules.js';
import { PullThroughCache } from './service.js';

declare module '../capabilities.js' {
  interface Services {
    /** Pull-through cache rules and the fill-on-miss the OCI door calls. */
    pullThroughCache: PullThroughCache;
    /** The cache rules table, for the ECR operations. */
    cacheRules: CacheRuleStore;
    /** Repository creation templates; replication calls `createRepository(accountId, name, 'REPLICATION')`. */
    templates: TemplateService;
    /** The Secrets Manager subset's secrets (upstream credentials). */
    secrets: SecretStore;
  }
}

/** Pull-through cache rules, repository creation templates and upstream secrets (docs/pull-through-cache.md). */
export const pullThroughCacheCapability: Capability = {
  name: 'pull-through-cache',
  async start(ctx) {
    const secrets = new SecretStore(ctx.meta, ctx.box, ctx.config.region);
    const templates = new TemplateService(ctx.meta, ctx.registry, ctx.policies, ctx.config.region, ctx.log);
    const rules = new CacheRuleStore(ctx.meta);
    const cache = new PullThroughCache({
      meta: ctx.meta,
      registry: ctx.registry,
      blobs: ctx.blobs,
      templates,
      secrets,
      rules,
      events: ctx.events,
      allowHttp: ctx.config.cache.allowHttpUpstreams,
      freshnessMs: ctx.config.cache.freshnessSeconds * 1000,
      log: ctx.log,
    });
    // A template's lifecycle policy goes where the lifecycle capability keeps policies (src/lifecycle/store.ts).
    templates.setLifecyclePolicyWriter(async (tx, repo, text) => {
      const policy = parseLifecyclePolicy(text);
      const now = Date.now();
      await tx.kysely
        .insertInto('lifecycle_policies')
        .values({ repository_id: repo.id, policy_text: policy.text, updated_at: now, last_evaluated_at: null })
        .onConflict((oc) => oc.column('repository_id').doUpdateSet({ policy_text: policy.text, updated_at: now }))
        .execute();
    });
    ctx.services.secrets = secrets;
    ctx.services.templates = templates;
    ctx.services.cacheRules = rules;
    ctx.services.pullThroughCache = cache;

    // A push to a missing repository: a CREATE_ON_PUSH template both allows the creation (as in
    // ECR, without BERTH_CREATE_ON_PUSH) and shapes the repository, in the creating transaction.
    ctx.registry.setCreateOnPushMatcher(async (accountId, name) => (await templates.match(accountId, name, 'CREATE_ON_PUSH')) !== undefined);
    ctx.events.inTransaction(async (tx, event) => {
      if (event.type !== 'repository.created' || event.via !== 'CREATE_ON_PUSH') return;
      await templates.applyInTransaction(tx, event.accountId, event.repository, 'CREATE_ON_PUSH', event.at);
    });
    ctx.events.on((event) => {
      // The authorizer read the (then absent) repository's tags before the push created it.
      if (event.type === 'repository.created') ctx.registry.forgetResourceTags(`arn:aws:ecr:${ctx.config.region}:${event.accountId}:repository/${event.repository}`);
    });
  },
};

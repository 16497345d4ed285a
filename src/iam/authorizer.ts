import type { FastifyBaseLogger } from 'fastify';
import { BerthError, type RequestContext as CallContext } from '../core/index.js';
import { authorize as evaluate, requestTimeKeys, type Decision, type PolicyDocument, type RequestContext } from './policy/index.js';
import type { Principal, ResourceRef } from './principal.js';

/** Where the authorizer finds what it evaluates; wired in app.ts (each source caches). */
export interface PolicySources {
  /** The principal's identity policies: a user's inline and attached policies, a role session's role's. */
  identityPolicies(principal: Principal): Promise<readonly { name: string; doc: PolicyDocument }[]>;
  /** The engine's view of the principal (ARN with path, user id, role ARN). */
  requestPrincipal(principal: Principal): Promise<RequestContext['principal']>;
  /** A repository's policy, if it has one. */
  repositoryPolicy(accountId: string, repositoryName: string): Promise<PolicyDocument | undefined>;
  /** A repository's resource tags, for the `ecr:ResourceTag/*` and `aws:ResourceTag/*` keys. */
  repositoryTags(accountId: string, repositoryName: string): Promise<readonly { key: string; value: string }[]>;
}

/** One decision of `Authorizer.authorize`, as its observers see it. */
export interface AuthorizationDecision {
  principalArn: string;
  action: string;
  resource: string;
  effect: 'Allow' | 'Deny' | 'ImplicitDeny';
  reason: string;
  /** The statement that decided, when one did: `<policy>#<Sid or index>`. */
  statement?: string;
}

/** Called synchronously with each decision and the request it was taken for (`RequestFacts.request`); must not throw. */
export type DecisionObserver = (decision: AuthorizationDecision, request: CallContext | undefined) => void;

/** What the request itself tells the conditions. */
export interface RequestFacts {
  sourceIp?: string;
  secureTransport?: boolean;
  /** Tags the request sets (CreateRepository, TagResource): `aws:RequestTag/*` and `aws:TagKeys`. */
  requestTags?: readonly { key: string; value: string }[];
  /** The request the decision is taken for: observers find its call facts there (the audit trail). */
  request?: CallContext | undefined;
}

/**
 * The one authorizer both doors call: every OCI route and every ECR operation names its ECR action
 * (docs/access-control.md), and this decides it with AWS's evaluation logic (iam/policy/): explicit
 * deny wins; in one account an allow in an identity policy or the repository policy suffices;
 * across accounts both must allow; an account root may do anything in its own account that no
 * resource policy explicitly denies it. A denial is logged with the statement (or the absence of
 * one) that decided it.
 */
export class Authorizer {
  private readonly observers: DecisionObserver[] = [];

  constructor(
    private readonly sources: PolicySources,
    private readonly region: string,
    private readonly log?: FastifyBaseLogger,
  ) {}

  /** Be told every decision `authorize` takes (the audit trail records who was allowed or denied, and why). */
  observe(observer: DecisionObserver): void {
    this.observers.push(observer);
  }

  /** Throws ACCESS_DENIED, with AWS's wording and the reason, unless the request is allowed. */
  async authorize(principal: Principal, action: string, resource: ResourceRef, facts: RequestFacts = {}): Promise<void> {
    const { decision, ctx } = await this.decide(principal, action, resource, facts);
    for (const observer of this.observers) {
      observer(
        { principalArn: ctx.principal.arn, action, resource: ctx.resource, effect: decision.effect, reason: decision.reason, ...(decision.statement ? { statement: `${decision.statement.policy}#${decision.statement.sid ?? decision.statement.index}` } : {}) },
        facts.request,
      );
    }
    if (decision.effect === 'Allow') return;
    this.log?.info({ principal: ctx.principal.arn, action, resource: ctx.resource, decision: decision.effect, reason: decision.reason, statement: decision.statement }, 'access denied');
    throw new BerthError(
      'ACCESS_DENIED',
      `User: ${ctx.principal.arn} is not authorized to perform: ${action} on resource: ${ctx.resource} because ${decision.reason}`,
      { action },
    );
  }

  /**
   * The decision, without throwing. `resourcePolicy` replaces the stored repository policy (a
   * policy about to be set is checked against locking out its author).
   */
  async decide(
    principal: Principal,
    action: string,
    resource: ResourceRef,
    facts: RequestFacts = {},
    opts: { resourcePolicy?: PolicyDocument } = {},
  ): Promise<{ decision: Decision; ctx: RequestContext }> {
    const arn = resourceArn(this.region, resource);
    const isRepository = resource.repositoryName !== undefined;
    const [requestPrincipal, identityPolicies, storedPolicy, tags] = await Promise.all([
      this.sources.requestPrincipal(principal),
      this.sources.identityPolicies(principal),
      isRepository && !opts.resourcePolicy ? this.sources.repositoryPolicy(resource.accountId, resource.repositoryName!) : undefined,
      isRepository ? this.sources.repositoryTags(resource.accountId, resource.repositoryName!) : [],
    ]);
    const keys: RequestContext['keys'] = { ...requestTimeKeys(Date.now()) };
    if (facts.sourceIp !== undefined) keys['aws:SourceIp'] = facts.sourceIp;
    if (facts.secureTransport !== undefined) keys['aws:SecureTransport'] = facts.secureTransport;
    for (const tag of tags) {
      keys[`aws:ResourceTag/${tag.key}`] = tag.value;
      keys[`ecr:ResourceTag/${tag.key}`] = tag.value;
    }
    if (facts.requestTags) {
      for (const tag of facts.requestTags) keys[`aws:RequestTag/${tag.key}`] = tag.value;
      keys['aws:TagKeys'] = facts.requestTags.map((t) => t.key);
    }
    const ctx: RequestContext = { principal: requestPrincipal, action, resource: arn, resourceAccount: resource.accountId, keys };
    const resourcePolicy = opts.resourcePolicy ?? storedPolicy;
    const decision = evaluate({
      identityPolicies,
      ...(resourcePolicy ? { resourcePolicy: { name: 'repository policy', doc: resourcePolicy } } : {}),
      ctx,
    });
    return { decision, ctx };
  }
}

/**
 * The ARN an action is decided on: a repository's, or `*` for actions that act on no repository
 * (GetAuthorizationToken, DescribeRegistry, account settings), as ECR's IAM reference lists them.
 */
export function resourceArn(region: string, resource: ResourceRef): string {
  return resource.repositoryName !== undefined ? `arn:aws:ecr:${region}:${resource.accountId}:repository/${resource.repositoryName}` : '*';
}

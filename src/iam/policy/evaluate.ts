/**
 * AWS's policy evaluation logic, for one policy and across identity and resource policies.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
 */
import { evaluateCondition } from './conditions.js';
import type { Decision, PolicyDocument, RequestContext, Statement } from './index.js';
import { UNRESOLVED, type ContextValue } from './patterns.js';
import { isExcludedBy, matchPrincipal, type CallerIdentity } from './principals.js';

const NOT_A_PRINCIPAL_KEY: unique symbol = Symbol('not a principal key');

/** The principal keys are the engine's own, filled from `ctx.principal`; whatever the caller put under those names is ignored. */
function principalKey(lowerKey: string, p: RequestContext['principal']): ContextValue | undefined | typeof NOT_A_PRINCIPAL_KEY {
  switch (lowerKey) {
    case 'aws:principalaccount':
      return p.accountId;
    case 'aws:principalarn':
      // AWS: for a role session, aws:PrincipalArn is the role's ARN, not the assumed-role ARN.
      return p.type === 'AssumedRole' && p.roleArn !== undefined ? p.roleArn : p.arn;
    case 'aws:principaltype':
      return p.type;
    case 'aws:principalisawsservice':
      return 'false';
    case 'aws:username':
      return p.type === 'User' ? p.userName : undefined;
    case 'aws:userid':
      // The root user's aws:userid is its account id.
      return p.userId ?? (p.type === 'Account' ? p.accountId : undefined);
    default:
      return NOT_A_PRINCIPAL_KEY;
  }
}

/** Lowercased key names, remembered: the same few names arrive with every request. */
const lowered = new Map<string, string>();
function lower(name: string): string {
  let l = lowered.get(name);
  if (l === undefined) {
    if (lowered.size >= 10_000) lowered.clear();
    l = name.toLowerCase();
    lowered.set(name, l);
  }
  return l;
}

/**
 * The request's condition keys, looked up case-insensitively without building a map per request
 * (that was a third of the cost of a call): the key as the policy spells it usually hits directly.
 */
class RequestKeys {
  constructor(
    private readonly given: RequestContext['keys'],
    private readonly principal: RequestContext['principal'],
  ) {}

  /** `key` as written in the policy, `lowerKey` its lowercase form. */
  find(key: string, lowerKey: string): ContextValue | undefined {
    const own = principalKey(lowerKey, this.principal);
    if (own !== NOT_A_PRINCIPAL_KEY) return own;
    const direct = this.given[key];
    return direct !== undefined ? direct : this.scan(lowerKey);
  }

  /** For policy variables (VariableLookup). */
  get(lowerKey: string): ContextValue | undefined {
    const own = principalKey(lowerKey, this.principal);
    return own !== NOT_A_PRINCIPAL_KEY ? own : this.scan(lowerKey);
  }

  private scan(lowerKey: string): ContextValue | undefined {
    for (const name in this.given) {
      if (lower(name) === lowerKey) {
        const value = this.given[name];
        if (value !== undefined) return value;
      }
    }
    return undefined;
  }
}

/** The request, prepared once for every policy it is checked against. */
interface PreparedRequest {
  readonly ctx: RequestContext;
  readonly caller: CallerIdentity;
  /** Lowercased: action names match case-insensitively. */
  readonly action: string;
  readonly keys: RequestKeys;
}

function prepare(ctx: RequestContext): PreparedRequest {
  return { ctx, caller: ctx.principal, action: ctx.action.toLowerCase(), keys: new RequestKeys(ctx.keys, ctx.principal) };
}

/**
 * The statements of a policy whose Action/NotAction matches an action. Actions have no policy
 * variables and form a small closed set, so the answer is kept per document: a request then
 * looks at only the statements about its action.
 */
const byAction = new WeakMap<PolicyDocument, Map<string, readonly Statement[]>>();
const NO_VARIABLES = { get: (): undefined => undefined };

function statementsFor(doc: PolicyDocument, action: string): readonly Statement[] {
  let cache = byAction.get(doc);
  if (cache === undefined) {
    cache = new Map();
    byAction.set(doc, cache);
  }
  let found = cache.get(action);
  if (found === undefined) {
    // Bounded: callers pass action names from requests, and a typo'd one need not stay.
    if (cache.size >= 256) cache.clear();
    found = doc.statements.filter((s) => s.action.set.testNormalized(action, NO_VARIABLES) !== s.action.negated);
    cache.set(action, found);
  }
  return found;
}

/** Does a statement about the request's action apply to it? `account`: only through an account principal. */
function statementApplies(s: Statement, req: PreparedRequest): 'direct' | 'account' | undefined {
  let via: 'direct' | 'account' = 'direct';
  if (s.principal) {
    if (s.principal.negated) {
      if (isExcludedBy(s.principal.set, req.caller)) return undefined;
    } else {
      const m = matchPrincipal(s.principal.set, req.caller);
      if (m === undefined) return undefined;
      via = m;
    }
  }
  try {
    if (s.resource && s.resource.set.test(req.ctx.resource, req.keys) === s.resource.negated) return undefined;
    for (const c of s.conditions) {
      if (!evaluateCondition(c, req.keys.find(c.key, c.lowerKey), req.keys)) return undefined;
    }
  } catch (err) {
    // A policy variable without a value: AWS sets the whole statement aside.
    if (err === UNRESOLVED) return undefined;
    throw err;
  }
  return via;
}

interface PolicyOutcome {
  readonly deny: Statement | undefined;
  readonly allow: Statement | undefined;
  /** How the allowing statement named the caller (resource and trust policies). */
  readonly allowVia: 'direct' | 'account' | undefined;
}

function evaluatePrepared(doc: PolicyDocument, req: PreparedRequest): PolicyOutcome {
  let allow: Statement | undefined;
  let allowVia: 'direct' | 'account' | undefined;
  for (const s of statementsFor(doc, req.action)) {
    const via = statementApplies(s, req);
    if (via === undefined) continue;
    if (s.effect === 'Deny') return { deny: s, allow: undefined, allowVia: undefined };
    // Keep the first allow, unless a later one names the caller directly.
    if (allow === undefined || (allowVia === 'account' && via === 'direct')) {
      allow = s;
      allowVia = via;
    }
  }
  return { deny: undefined, allow, allowVia };
}

const statementName = (s: Statement): string => (s.sid ? `statement '${s.sid}'` : `Statement[${s.index}]`);
function ref(policy: string, s: Statement): NonNullable<Decision['statement']> {
  return s.sid !== undefined ? { policy, sid: s.sid, index: s.index } : { policy, index: s.index };
}
const denied = (policy: string, s: Statement): Decision => ({ effect: 'Deny', reason: `explicit deny in ${policy} ${statementName(s)}`, statement: ref(policy, s) });
const allowed = (policy: string, s: Statement): Decision => ({ effect: 'Allow', reason: `allowed by ${policy} ${statementName(s)}`, statement: ref(policy, s) });

/** See `evaluatePolicy` in index.ts. */
export function evaluatePolicy(doc: PolicyDocument, ctx: RequestContext, policyName: string): Decision {
  const out = evaluatePrepared(doc, prepare(ctx));
  if (out.deny) return denied(policyName, out.deny);
  if (out.allow) return allowed(policyName, out.allow);
  return { effect: 'ImplicitDeny', reason: `no statement in ${policyName} allows ${ctx.action} on ${ctx.resource}` };
}

/** See `authorize` in index.ts. */
export function authorize(input: {
  identityPolicies: readonly { name: string; doc: PolicyDocument }[];
  resourcePolicy?: { name: string; doc: PolicyDocument };
  ctx: RequestContext;
}): Decision {
  const { ctx, resourcePolicy } = input;
  const req = prepare(ctx);
  const isRoot = ctx.principal.type === 'Account';
  const sameAccount = ctx.principal.accountId === ctx.resourceAccount;
  const target = `${ctx.action} on ${ctx.resource}`;

  // The root user has no identity policies (AWS: none can be attached to it), so an allow or a
  // deny in them means nothing; its identity side is always an allow.
  let identityAllow: { name: string; statement: Statement } | undefined;
  if (!isRoot) {
    for (const p of input.identityPolicies) {
      const out = evaluatePrepared(p.doc, req);
      if (out.deny) return denied(p.name, out.deny);
      if (out.allow && !identityAllow) identityAllow = { name: p.name, statement: out.allow };
    }
  }
  const resource = resourcePolicy ? evaluatePrepared(resourcePolicy.doc, req) : undefined;
  if (resourcePolicy && resource?.deny) return denied(resourcePolicy.name, resource.deny);

  const resourceAllow = resourcePolicy && resource?.allow ? { name: resourcePolicy.name, statement: resource.allow, via: resource.allowVia } : undefined;
  // A role's trust policy must allow even within its own account (AWS's exception to "either side").
  const isTrust = resourcePolicy?.doc.kind === 'trust';

  if (sameAccount) {
    if (isRoot && !isTrust) return { effect: 'Allow', reason: `the account root user may perform ${target} in its own account` };
    // Naming only the account in a resource policy delegates to the account's identity policies.
    if (resourceAllow && resourceAllow.via === 'direct') return allowed(resourceAllow.name, resourceAllow.statement);
    if (identityAllow && !isTrust) return allowed(identityAllow.name, identityAllow.statement);
    if (resourceAllow && (identityAllow || isRoot)) {
      return identityAllow ? allowed(identityAllow.name, identityAllow.statement) : allowed(resourceAllow.name, resourceAllow.statement);
    }
    if (isTrust) {
      return {
        effect: 'ImplicitDeny',
        reason: resourceAllow
          ? `${resourcePolicy.name} trusts the account, and no identity-based policy allows ${target}`
          : `${resourcePolicy.name} does not allow ${ctx.principal.arn} to perform ${target}`,
      };
    }
    return {
      effect: 'ImplicitDeny',
      reason: resourceAllow
        ? `${resourceAllow.name} grants ${ctx.action} to the account only, and no identity-based policy allows ${target}`
        : `no identity-based or resource-based policy allows ${target}`,
    };
  }

  // Across accounts both sides must allow: the caller's account and the resource's.
  const identityOk = isRoot || identityAllow !== undefined;
  if (identityOk && resourceAllow) {
    return identityAllow ? allowed(identityAllow.name, identityAllow.statement) : allowed(resourceAllow.name, resourceAllow.statement);
  }
  const missing = [
    ...(identityOk ? [] : [`no identity-based policy of account ${ctx.principal.accountId} allows it`]),
    ...(resourceAllow ? [] : [resourcePolicy ? `${resourcePolicy.name} does not allow it` : `account ${ctx.resourceAccount} has no resource-based policy that allows it`]),
  ];
  return { effect: 'ImplicitDeny', reason: `cross-account request for ${target}: ${missing.join(', and ')}` };
}

/**
 * The time keys of a request context, `aws:CurrentTime` (ISO 8601) and `aws:EpochTime` (seconds).
 * The engine reads no clock; callers spread this into `RequestContext.keys`.
 */
export function requestTimeKeys(now: Date | number): Readonly<{ 'aws:CurrentTime': string; 'aws:EpochTime': number }> {
  const seconds = Math.floor((typeof now === 'number' ? now : now.getTime()) / 1000);
  // Both keys have whole seconds: every request of one second shares them (formatting the date was
  // a visible part of a manifest GET). Callers copy them into their own key set.
  if (timeKeys['aws:EpochTime'] !== seconds) {
    timeKeys = { 'aws:CurrentTime': new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'), 'aws:EpochTime': seconds };
  }
  return timeKeys;
}

let timeKeys: Readonly<{ 'aws:CurrentTime': string; 'aws:EpochTime': number }> = { 'aws:CurrentTime': '', 'aws:EpochTime': Number.NaN };

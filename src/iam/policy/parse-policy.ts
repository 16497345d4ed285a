/**
 * Parse and validate a policy document, compiling its patterns for evaluation.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
 */
import { BerthError } from '../../core/index.js';
import { ConditionError, compileCondition, parseOperatorName, type Condition } from './conditions.js';
import type { ParseOptions, PolicyDocument, PolicyKind, Statement } from './index.js';
import { PatternSet } from './patterns.js';
import { PrincipalError, compilePrincipal } from './principals.js';

/** Used when the caller gives no maxLength: ECR's repository and registry policy limit. */
export const DEFAULT_MAX_LENGTH = 10_240;
/** Read no further than this whatever the options say (IAM's own ceiling on PolicyDocument). */
const HARD_MAX_LENGTH = 131_072;
/** The deepest a valid policy nests is 7 (policy, Statement list, statement, Condition, operator, key, values). */
const MAX_DEPTH = 10;

const VERSIONS = ['2012-10-17', '2008-10-17'];
const TOP_LEVEL = ['Version', 'Id', 'Statement'];
const STATEMENT_ELEMENTS = ['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];
const ACTION = /^[A-Za-z0-9-]+:[A-Za-z0-9*?_-]+$/;
const CONDITION_KEY = /^[A-Za-z0-9-]+:\S.*$/s;
// IAM: "Statement IDs (SID) must be alpha-numeric." ECR's policies are more relaxed.
const IAM_SID = /^[A-Za-z0-9]*$/;

const KIND_NAME: Record<PolicyKind, string> = {
  identity: 'an identity-based policy',
  resource: 'a resource-based policy',
  trust: 'a role trust policy',
};

function invalid(path: string, problem: string): BerthError {
  return new BerthError('INVALID_PARAMETER', path === '' ? problem : `${path}: ${problem}`, { path });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : `a ${typeof v}`);

/** Reject absurd nesting without recursing, so a hostile document cannot exhaust the stack. */
function checkDepth(root: unknown): void {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_DEPTH) throw invalid('', `policy nests deeper than ${MAX_DEPTH} levels`);
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
}

function stringList(value: unknown, path: string): string[] {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) throw invalid(path, `must be a string or a list of strings, not ${describe(value)}`);
  if (value.length === 0) throw invalid(path, 'must not be an empty list');
  value.forEach((v, i) => {
    if (typeof v !== 'string') throw invalid(`${path}[${i}]`, `must be a string, not ${describe(v)}`);
  });
  return value as string[];
}

function parseConditions(value: unknown, path: string, variables: boolean): Condition[] {
  if (!isObject(value)) throw invalid(path, `must be an object of operators, not ${describe(value)}`);
  const conditions: Condition[] = [];
  for (const [operator, body] of Object.entries(value)) {
    try {
      parseOperatorName(operator);
    } catch (err) {
      if (err instanceof ConditionError) throw invalid(path, err.message);
      throw err;
    }
    const opPath = `${path}.${operator}`;
    if (!isObject(body)) throw invalid(opPath, `must be an object of condition keys, not ${describe(body)}`);
    const keys = Object.entries(body);
    if (keys.length === 0) throw invalid(opPath, 'must name at least one condition key');
    for (const [key, raw] of keys) {
      const keyPath = `${opPath}[${JSON.stringify(key)}]`;
      if (!CONDITION_KEY.test(key)) throw invalid(keyPath, `'${key}' is not a condition key (expected service:name, e.g. aws:SourceIp)`);
      const list = Array.isArray(raw) ? raw : [raw];
      if (list.length === 0) throw invalid(keyPath, 'must not be an empty list');
      list.forEach((v, i) => {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          throw invalid(Array.isArray(raw) ? `${keyPath}[${i}]` : keyPath, `must be a string, number or boolean, not ${describe(v)}`);
        }
      });
      try {
        conditions.push(compileCondition(operator, key, list as Array<string | number | boolean>, variables));
      } catch (err) {
        if (err instanceof ConditionError) throw invalid(keyPath, err.message);
        throw err;
      }
    }
  }
  return conditions;
}

function parseStatement(raw: unknown, path: string, index: number, kind: PolicyKind, opts: ParseOptions, variables: boolean): Statement {
  if (!isObject(raw)) throw invalid(path, `must be an object, not ${describe(raw)}`);
  for (const element of Object.keys(raw)) {
    if (!STATEMENT_ELEMENTS.includes(element)) throw invalid(path, `unknown element '${element}' (expected one of ${STATEMENT_ELEMENTS.join(', ')})`);
  }
  const { Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition } = raw;

  if (Sid !== undefined) {
    if (typeof Sid !== 'string') throw invalid(`${path}.Sid`, `must be a string, not ${describe(Sid)}`);
    if (kind !== 'resource' && !IAM_SID.test(Sid)) throw invalid(`${path}.Sid`, `'${Sid}' must be alphanumeric ([0-9A-Za-z]*)`);
  }
  if (Effect !== 'Allow' && Effect !== 'Deny') {
    throw invalid(`${path}.Effect`, Effect === undefined ? 'missing (expected Allow or Deny)' : `${JSON.stringify(Effect)} is not Allow or Deny`);
  }

  let principal: Statement['principal'];
  if (kind === 'identity') {
    if (Principal !== undefined || NotPrincipal !== undefined) {
      throw invalid(path, `${Principal !== undefined ? 'Principal' : 'NotPrincipal'} is not allowed in ${KIND_NAME[kind]}`);
    }
  } else {
    if (Principal !== undefined && NotPrincipal !== undefined) throw invalid(path, 'has both Principal and NotPrincipal; use one');
    if (Principal === undefined && NotPrincipal === undefined) throw invalid(path, `Principal is required in ${KIND_NAME[kind]}`);
    const negated = Principal === undefined;
    const element = negated ? 'NotPrincipal' : 'Principal';
    try {
      principal = { set: compilePrincipal(negated ? NotPrincipal : Principal), negated };
    } catch (err) {
      if (err instanceof PrincipalError) {
        throw new BerthError('INVALID_PARAMETER', `${path}.${element}${err.message.startsWith('.') ? '' : ': '}${err.message}`, { path: `${path}.${element}` });
      }
      throw err;
    }
  }

  if (Action !== undefined && NotAction !== undefined) throw invalid(path, 'has both Action and NotAction; use one');
  if (Action === undefined && NotAction === undefined) throw invalid(path, 'needs an Action or NotAction');
  const actionElement = Action !== undefined ? 'Action' : 'NotAction';
  const actions = stringList(Action ?? NotAction, `${path}.${actionElement}`);
  actions.forEach((a, i) => {
    if (a !== '*' && !ACTION.test(a)) {
      throw invalid(`${path}.${actionElement}${Array.isArray(Action ?? NotAction) ? `[${i}]` : ''}`, `'${a}' is not an action (expected "*" or service:Action, e.g. ecr:BatchGetImage)`);
    }
  });

  if (Resource !== undefined && NotResource !== undefined) throw invalid(path, 'has both Resource and NotResource; use one');
  let resource: Statement['resource'];
  if (Resource === undefined && NotResource === undefined) {
    if (kind === 'identity' || (kind === 'resource' && !opts.resourceImplied)) throw invalid(path, 'needs a Resource or NotResource');
  } else {
    const element = Resource !== undefined ? 'Resource' : 'NotResource';
    // IAM: a role trust policy "Has prohibited field Resource": the role is the resource.
    if (kind === 'trust') throw invalid(path, `${element} is not allowed in ${KIND_NAME[kind]}`);
    const values = stringList(Resource ?? NotResource, `${path}.${element}`);
    values.forEach((r, i) => {
      if (r !== '*' && !r.startsWith('arn:')) {
        throw invalid(`${path}.${element}${Array.isArray(Resource ?? NotResource) ? `[${i}]` : ''}`, `'${r}' is not an ARN or "*"`);
      }
    });
    resource = { set: new PatternSet(values, 'arn', { variables }), negated: Resource === undefined };
  }

  const conditions = Condition === undefined ? [] : parseConditions(Condition, `${path}.Condition`, variables);
  return {
    index,
    ...(Sid !== undefined ? { sid: Sid } : {}),
    effect: Effect,
    ...(principal ? { principal } : {}),
    action: { set: new PatternSet(actions, 'action', { variables: false }), negated: Action === undefined },
    ...(resource ? { resource } : {}),
    conditions,
  };
}

/**
 * Parsed documents by kind, options and text. A document is immutable, so callers that keep only
 * the text (and parse it on every request) get the compiled one back for a Map lookup instead of
 * a parse (tens of microseconds per statement). Bounded; the oldest entry goes first.
 */
const parsed = new Map<string, PolicyDocument>();
const PARSED_MAX = 512;

/** See `parsePolicy` in index.ts. */
export function parsePolicy(text: string, kind: PolicyKind, opts: ParseOptions = {}): PolicyDocument {
  const key = typeof text === 'string' ? `${kind}|${opts.maxLength ?? ''}|${opts.resourceImplied ? 1 : 0}|${opts.lengthExcludesWhitespace ? 1 : 0}|${text}` : undefined;
  const hit = key === undefined ? undefined : parsed.get(key);
  if (hit) return hit;
  const doc = parseUncached(text, kind, opts);
  if (key !== undefined) {
    if (parsed.size >= PARSED_MAX) parsed.delete(parsed.keys().next().value!);
    parsed.set(key, doc);
  }
  return doc;
}

function parseUncached(text: string, kind: PolicyKind, opts: ParseOptions): PolicyDocument {
  if (typeof text !== 'string') throw invalid('', 'policy text must be a string');
  const max = opts.maxLength ?? DEFAULT_MAX_LENGTH;
  if (text.length > HARD_MAX_LENGTH) throw invalid('', `policy text is ${text.length} characters; the limit is ${Math.min(max, HARD_MAX_LENGTH)}`);
  // IAM "doesn't count white space characters when computing the size of a policy"; ECR counts the string.
  const length = opts.lengthExcludesWhitespace ? text.replace(/\s+/g, '').length : text.length;
  if (length > max) throw invalid('', `policy text is ${length} characters; the limit is ${max}`);
  if (text.trim() === '') throw invalid('', 'policy text is empty');

  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalid('', `policy text is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw invalid('', `policy must be a JSON object, not ${describe(doc)}`);
  checkDepth(doc);
  for (const element of Object.keys(doc)) {
    if (!TOP_LEVEL.includes(element)) throw invalid('', `unknown top-level element '${element}' (expected Version, Id, Statement)`);
  }
  const { Version, Id, Statement } = doc;
  if (Version !== undefined && (typeof Version !== 'string' || !VERSIONS.includes(Version))) {
    throw invalid('Version', `unknown version ${JSON.stringify(Version)} (expected "2012-10-17" or "2008-10-17")`);
  }
  if (Id !== undefined && typeof Id !== 'string') throw invalid('Id', `must be a string, not ${describe(Id)}`);
  // Policy variables were introduced with 2012-10-17; before that `${...}` is literal text.
  const variables = Version === '2012-10-17';

  if (Statement === undefined) throw invalid('Statement', 'missing');
  let statements: Statement[];
  if (Array.isArray(Statement)) {
    if (Statement.length === 0) throw invalid('Statement', 'must not be an empty list');
    statements = Statement.map((s, i) => parseStatement(s, `Statement[${i}]`, i, kind, opts, variables));
  } else if (isObject(Statement)) {
    statements = [parseStatement(Statement, 'Statement', 0, kind, opts, variables)];
  } else {
    throw invalid('Statement', `must be an object or a list of objects, not ${describe(Statement)}`);
  }

  if (kind !== 'resource') {
    // IAM: "Statement IDs (SID) in a single policy must be unique."
    const seen = new Set<string>();
    for (const s of statements) {
      if (s.sid === undefined || s.sid === '') continue;
      if (seen.has(s.sid)) throw invalid(Array.isArray(Statement) ? `Statement[${s.index}].Sid` : 'Statement.Sid', `duplicate Sid '${s.sid}'`);
      seen.add(s.sid);
    }
  }
  return Object.freeze({ kind, text, statements: Object.freeze(statements) });
}

import { BerthError } from '../core/index.js';

/**
 * ECR lifecycle policy documents: the grammar of ../shared/spec/ecr-semantics.md (a.1) and the
 * validation of PutLifecyclePolicy (a.2). Values in the document are lowercase (`tagged`,
 * `expire`, `archive`); the API's enums are uppercase. The schema is strict, as AWS's JSON schema
 * is: unknown properties and explicit `null`s are refused at every level.
 */

export type TagStatusValue = 'tagged' | 'untagged' | 'any';
export type CountType = 'imageCountMoreThan' | 'sinceImagePushed' | 'sinceImagePulled' | 'sinceImageTransitioned';
export type StorageClassValue = 'standard' | 'archive';
export type ActionType = 'expire' | 'transition';

export interface LifecycleSelection {
  readonly tagStatus: TagStatusValue;
  readonly tagPrefixList?: readonly string[];
  readonly tagPatternList?: readonly string[];
  /** As written; absent means `standard`. */
  readonly storageClass?: StorageClassValue;
  readonly countType: CountType;
  readonly countUnit?: 'days';
  readonly countNumber: number;
}

export interface LifecycleRule {
  readonly rulePriority: number;
  readonly description?: string;
  readonly selection: LifecycleSelection;
  readonly action: { readonly type: ActionType; readonly targetStorageClass?: 'archive' };
}

export interface LifecyclePolicy {
  /** Ordered by `rulePriority`, ascending. */
  readonly rules: readonly LifecycleRule[];
  /** The canonical text: the document re-serialised with its rules ordered by priority (what ECR stores and returns). */
  readonly text: string;
}

export const MIN_POLICY_LENGTH = 100;
export const MAX_POLICY_LENGTH = 30_720;
export const MAX_RULES = 50;
export const MAX_PATTERN_WILDCARDS = 4;
/** berth: archived images may be lifecycle-deleted only after this many days in the archive (AWS's minimum). */
export const MIN_ARCHIVE_DAYS = 90;

const TAG_STATUSES = ['tagged', 'untagged', 'any'] as const;
const COUNT_TYPES = ['imageCountMoreThan', 'sinceImagePushed', 'sinceImagePulled', 'sinceImageTransitioned'] as const;
const STORAGE_CLASSES = ['standard', 'archive'] as const;
const ACTION_TYPES = ['expire', 'transition'] as const;

/** The storage class a selection reads, with the default filled in. */
export function selectionClass(selection: LifecycleSelection): StorageClassValue {
  return selection.storageClass ?? 'standard';
}

/** A policy that failed validation; `message` is the whole InvalidParameterException message. */
export function policyError(reason: string): BerthError {
  return new BerthError(
    'INVALID_PARAMETER',
    `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: ${reason}'`,
  );
}

/**
 * Parse and validate a lifecycle policy text as PutLifecyclePolicy does. Throws INVALID_PARAMETER
 * (ECR InvalidParameterException) whose message names the offending rule and the JSON pointer of
 * the member at fault, with AWS's JSON-schema-style reason.
 */
export function parseLifecyclePolicy(text: string): LifecyclePolicy {
  if (text.length < MIN_POLICY_LENGTH || text.length > MAX_POLICY_LENGTH) {
    throw new BerthError(
      'INVALID_PARAMETER',
      `1 validation error detected: Value at 'lifecyclePolicyText' failed to satisfy constraint: Member must have length between ${MIN_POLICY_LENGTH} and ${MAX_POLICY_LENGTH}`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw policyError('Could not map policyString into LifecyclePolicy.');
  }
  const root = object(doc, '', undefined);
  only(root, ['rules'], '', undefined);
  if (!('rules' in root)) throw policyError('object has missing required properties (["rules"])');
  const rulesValue = root['rules'];
  if (!Array.isArray(rulesValue)) throw policyError(`${typeReason(rulesValue, 'array')} at "/rules"`);
  if (rulesValue.length === 0) throw policyError('array is too short: must have at least 1 elements but instance has 0 elements at "/rules"');
  if (rulesValue.length > MAX_RULES) {
    throw policyError(`array is too long: must have at most ${MAX_RULES} elements but instance has ${rulesValue.length} elements at "/rules"`);
  }
  const rules = rulesValue.map((value, i) => parseRule(value, i));
  checkAcrossRules(rules);
  const sorted = [...rules].sort((a, b) => a.rulePriority - b.rulePriority);
  return { rules: sorted, text: JSON.stringify({ rules: sorted }) };
}

function parseRule(value: unknown, index: number): LifecycleRule {
  const at = `/rules/${index}`;
  const raw = object(value, at, undefined);
  const priorityValue = raw['rulePriority'];
  const priority = typeof priorityValue === 'number' && Number.isInteger(priorityValue) ? priorityValue : undefined;
  const where = { index, priority };
  only(raw, ['rulePriority', 'description', 'selection', 'action'], at, where);
  required(raw, ['rulePriority', 'selection', 'action'], at, where);
  const rulePriority = integer(raw['rulePriority'], `${at}/rulePriority`, where, 1);
  let description: string | undefined;
  if ('description' in raw) description = string(raw['description'], `${at}/description`, where);
  const selection = parseSelection(raw['selection'], `${at}/selection`, where);
  const action = parseAction(raw['action'], `${at}/action`, where);
  const rule: LifecycleRule = { rulePriority, ...(description !== undefined ? { description } : {}), selection, action };
  checkRule(rule, at, where);
  return rule;
}

function parseSelection(value: unknown, at: string, where: Where): LifecycleSelection {
  const raw = object(value, at, where);
  only(raw, ['tagStatus', 'tagPrefixList', 'tagPatternList', 'storageClass', 'countType', 'countUnit', 'countNumber'], at, where);
  required(raw, ['tagStatus', 'countType', 'countNumber'], at, where);
  const tagStatus = enumValue(raw['tagStatus'], TAG_STATUSES, `${at}/tagStatus`, where);
  const countType = enumValue(raw['countType'], COUNT_TYPES, `${at}/countType`, where);
  const countNumber = integer(raw['countNumber'], `${at}/countNumber`, where, 1);
  const out: { -readonly [K in keyof LifecycleSelection]: LifecycleSelection[K] } = { tagStatus, countType, countNumber };
  if ('tagPrefixList' in raw) out.tagPrefixList = stringList(raw['tagPrefixList'], `${at}/tagPrefixList`, where);
  if ('tagPatternList' in raw) out.tagPatternList = stringList(raw['tagPatternList'], `${at}/tagPatternList`, where);
  if ('storageClass' in raw) out.storageClass = enumValue(raw['storageClass'], STORAGE_CLASSES, `${at}/storageClass`, where);
  if ('countUnit' in raw) out.countUnit = enumValue(raw['countUnit'], ['days'] as const, `${at}/countUnit`, where);
  // Key order of the canonical text: as AWS documents the selection.
  return {
    tagStatus: out.tagStatus,
    ...(out.tagPrefixList ? { tagPrefixList: out.tagPrefixList } : {}),
    ...(out.tagPatternList ? { tagPatternList: out.tagPatternList } : {}),
    ...(out.storageClass ? { storageClass: out.storageClass } : {}),
    countType: out.countType,
    ...(out.countUnit ? { countUnit: out.countUnit } : {}),
    countNumber: out.countNumber,
  };
}

function parseAction(value: unknown, at: string, where: Where): LifecycleRule['action'] {
  const raw = object(value, at, where);
  // AWS's schema has one branch per action type, so a bad action fails "exactly one schema"
  // (cloudposse/terraform-aws-ecr#158: `"targetStorageClass": null` on an expire action).
  const oneOf = () => fail(where, at, 'instance failed to match exactly one schema (matched 0 out of 2)');
  if (raw['targetStorageClass'] === null) throw oneOf();
  only(raw, ['type', 'targetStorageClass'], at, where);
  required(raw, ['type'], at, where);
  const type = enumValue(raw['type'], ACTION_TYPES, `${at}/type`, where);
  if (type === 'expire') {
    if ('targetStorageClass' in raw) throw oneOf();
    return { type };
  }
  if (!('targetStorageClass' in raw)) throw fail(where, at, 'object has missing required properties (["targetStorageClass"])');
  enumValue(raw['targetStorageClass'], ['archive'] as const, `${at}/targetStorageClass`, where);
  return { type, targetStorageClass: 'archive' };
}

/** The constraints between the members of one rule (a.2, items 4, 5, 8, 9, 10). */
function checkRule(rule: LifecycleRule, at: string, where: Where): void {
  const s = rule.selection;
  const sel = `${at}/selection`;
  if (s.tagStatus === 'tagged') {
    if (s.tagPrefixList && s.tagPatternList) {
      throw fail(where, sel, 'tagPrefixList and tagPatternList cannot both be specified; use one of them');
    }
    const list = s.tagPrefixList ?? s.tagPatternList;
    if (!list) throw fail(where, sel, 'tagPrefixList or tagPatternList is required when tagStatus is "tagged"');
    if (list.length === 0) {
      const member = s.tagPrefixList ? 'tagPrefixList' : 'tagPatternList';
      throw fail(where, `${sel}/${member}`, 'array is too short: must have at least 1 elements but instance has 0 elements');
    }
  } else if (s.tagPrefixList || s.tagPatternList) {
    throw fail(where, sel, `tagPrefixList and tagPatternList are only allowed when tagStatus is "tagged", not "${s.tagStatus}"`);
  }
  s.tagPatternList?.forEach((pattern, i) => {
    const stars = pattern.split('*').length - 1;
    if (stars > MAX_PATTERN_WILDCARDS) {
      throw fail(where, `${sel}/tagPatternList/${i}`, `tag pattern "${pattern}" has ${stars} wildcards; at most ${MAX_PATTERN_WILDCARDS} are allowed`);
    }
  });
  if (s.countType === 'imageCountMoreThan') {
    if (s.countUnit !== undefined) throw fail(where, `${sel}/countUnit`, 'countUnit is not allowed when countType is "imageCountMoreThan"');
  } else if (s.countUnit === undefined) {
    throw fail(where, sel, `object has missing required properties (["countUnit"]); countType "${s.countType}" counts days`);
  }
  const storageClass = selectionClass(s);
  if (s.countType === 'sinceImageTransitioned') {
    if (storageClass !== 'archive') throw fail(where, `${sel}/storageClass`, 'countType "sinceImageTransitioned" requires storageClass "archive"');
    if (s.countNumber < MIN_ARCHIVE_DAYS) {
      throw fail(
        where,
        `${sel}/countNumber`,
        `numeric instance is lower than the required minimum (minimum: ${MIN_ARCHIVE_DAYS}, found: ${s.countNumber}); archived images stay at least ${MIN_ARCHIVE_DAYS} days`,
      );
    }
  } else if (storageClass !== 'standard') {
    throw fail(where, `${sel}/storageClass`, `storageClass "archive" is only allowed with countType "sinceImageTransitioned", not "${s.countType}"`);
  }
  if (rule.action.type === 'transition' && storageClass !== 'standard') {
    throw fail(where, `${at}/action/type`, 'a "transition" action only applies to images of storageClass "standard"');
  }
  if (s.countType === 'sinceImagePulled' && rule.action.type !== 'transition') {
    throw fail(where, `${at}/action/type`, 'countType "sinceImagePulled" can only be used with a "transition" action');
  }
  if (s.countType === 'sinceImageTransitioned' && rule.action.type !== 'expire') {
    throw fail(where, `${at}/action/type`, 'countType "sinceImageTransitioned" can only be used with an "expire" action');
  }
}

/** The constraints between rules (a.2, items 3, 6, 7), per storage class. */
function checkAcrossRules(rules: readonly LifecycleRule[]): void {
  const byPriority = new Map<number, number>();
  rules.forEach((rule, i) => {
    const first = byPriority.get(rule.rulePriority);
    if (first !== undefined) {
      throw fail({ index: i, priority: rule.rulePriority }, `/rules/${i}/rulePriority`, `rulePriority ${rule.rulePriority} is also used by rules[${first}]; priorities must be unique`);
    }
    byPriority.set(rule.rulePriority, i);
  });
  for (const storageClass of STORAGE_CLASSES) {
    const inClass = rules.map((rule, index) => ({ rule, index })).filter(({ rule }) => selectionClass(rule.selection) === storageClass);
    const highest = Math.max(...inClass.map(({ rule }) => rule.rulePriority));
    let untagged: number | undefined;
    const seen = new Map<string, number>();
    for (const { rule, index } of inClass) {
      const where = { index, priority: rule.rulePriority };
      const s = rule.selection;
      if (s.tagStatus === 'any' && rule.rulePriority !== highest) {
        throw fail(
          where,
          `/rules/${index}/selection/tagStatus`,
          `a rule with tagStatus "any" must have the highest rulePriority of the rules for storageClass "${storageClass}" (${highest} is higher)`,
        );
      }
      if (s.tagStatus === 'untagged') {
        if (untagged !== undefined) {
          throw fail(where, `/rules/${index}/selection/tagStatus`, `only one rule may select untagged images of storageClass "${storageClass}"; rules[${untagged}] does too`);
        }
        untagged = index;
      }
      for (const value of [...(s.tagPrefixList ?? []), ...(s.tagPatternList ?? [])]) {
        const other = seen.get(value);
        if (other !== undefined && other !== index) {
          throw fail(where, `/rules/${index}/selection`, `tag prefix or pattern "${value}" is also used by rules[${other}]; they must be unique among rules`);
        }
        seen.set(value, index);
      }
    }
  }
}

interface Where {
  index: number;
  priority: number | undefined;
}

function fail(where: Where | undefined, pointer: string, reason: string): BerthError {
  const rule = where ? `rules[${where.index}]${where.priority !== undefined ? ` (rulePriority ${where.priority})` : ''}: ` : '';
  return policyError(`${rule}${reason}${pointer ? ` at "${pointer}"` : ''}`);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeReason(value: unknown, expected: string): string {
  return `instance type (${typeName(value)}) does not match any allowed primitive type (allowed: ["${expected}"])`;
}

function object(value: unknown, at: string, where: Where | undefined): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    if (at === '') throw policyError('Could not map policyString into LifecyclePolicy.');
    throw fail(where, at, typeReason(value, 'object'));
  }
  return value as Record<string, unknown>;
}

function only(raw: Record<string, unknown>, allowed: readonly string[], at: string, where: Where | undefined): void {
  const extra = Object.keys(raw).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw fail(where, at, `object instance has properties which are not allowed by the schema: (${JSON.stringify(extra.sort())})`);
  }
  // AWS's schema declares no member nullable: an explicit null is a type error, not "absent".
  for (const key of allowed) {
    if (key in raw && raw[key] === null) throw fail(where, `${at}/${key}`, 'instance type (null) does not match any allowed primitive type');
  }
}

function required(raw: Record<string, unknown>, names: readonly string[], at: string, where: Where | undefined): void {
  const missing = names.filter((n) => !(n in raw));
  if (missing.length > 0) throw fail(where, at, `object has missing required properties (${JSON.stringify(missing)})`);
}

function integer(value: unknown, at: string, where: Where, minimum: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw fail(where, at, typeReason(value, 'integer'));
  if (value < minimum) throw fail(where, at, `numeric instance is lower than the required minimum (minimum: ${minimum}, found: ${value})`);
  return value;
}

function string(value: unknown, at: string, where: Where): string {
  if (typeof value !== 'string') throw fail(where, at, typeReason(value, 'string'));
  return value;
}

function stringList(value: unknown, at: string, where: Where): string[] {
  if (!Array.isArray(value)) throw fail(where, at, typeReason(value, 'array'));
  return value.map((item, i) => {
    const s = string(item, `${at}/${i}`, where);
    if (s.length === 0) throw fail(where, `${at}/${i}`, 'string "" is too short (length: 0, required minimum: 1)');
    return s;
  });
}

function enumValue<T extends string>(value: unknown, values: readonly T[], at: string, where: Where): T {
  if (typeof value !== 'string' || !values.includes(value as T)) {
    if (typeof value !== 'string') throw fail(where, at, typeReason(value, 'string'));
    throw fail(where, at, `instance value ("${value}") not found in enum (possible values: ${JSON.stringify(values)})`);
  }
  return value as T;
}

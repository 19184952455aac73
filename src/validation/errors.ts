import { z } from 'zod';

/** One problem in a config file. `path` is like `layers[3].approval.required`; '' is the whole document. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A config file (or the command line) that cannot be used, with every problem found in it. */
/**
 * Bad input from whoever asked (a flag, an argument, a request field): the CLI exits 2 with its
 * message, the API answers 400. Shared by the CLI and the API server, so it lives here.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

export class ConfigError extends Error {
  readonly file: string;
  readonly issues: ConfigIssue[];

  constructor(file: string, issues: ConfigIssue[]) {
    super(issues.map((issue) => formatIssue(file, issue)).join('\n'));
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

/** `<file>: <path>: <message>`, or `<file>: <message>` when the issue is about the whole document. */
export function formatIssue(file: string, issue: ConfigIssue): string {
  return issue.path === '' ? `${file}: ${issue.message}` : `${file}: ${issue.path}: ${issue.message}`;
}

export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** ['layers', 3, 'approval', 'required'] → `layers[3].approval.required`; odd keys are quoted: `features["a b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** A found value, for "got …" in messages: strings quoted (and shortened), containers by kind. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (value instanceof Date) return `a date (${value.toISOString()}); quote it to make it a string`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** "expected X, got Y", or "missing; expected X" when there is no value at all. */
export function expectedGot(expected: string, input: unknown): string {
  return input === undefined ? `missing; expected ${expected}` : `expected ${expected}, got ${describeValue(input)}`;
}

export function quoteList(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ');
}

// --- zod issues → ConfigIssues ------------------------------------------------------------------
//
// Messages are produced by `configErrorMap` while zod parses, because only then is the failing
// schema at hand (its bounds, its allowed keys). Schemas that need a domain-specific wording set
// their own `error`, which zod prefers over this map.

type RawIssue = z.core.$ZodRawIssue;

const ALLOWED_KEYS_PREFIX = 'allowed keys: ';

const KIND_BY_TYPE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  null: 'an empty value',
  date: 'a date',
  bigint: 'an integer',
};

interface NumberCheckDef {
  check?: string;
  value?: number;
  inclusive?: boolean;
  format?: string;
}

/** "an integer between 1 and 10000000", "a number > 0", … read off a zod number schema's checks. */
function describeNumberSchema(inst: unknown): string {
  const zod = (inst as { _zod?: { def?: { checks?: Array<{ _zod: { def: NumberCheckDef } }>; format?: string } } })
    ._zod;
  const checks = (zod?.def?.checks ?? []).map((c) => c._zod.def);
  let integer = zod?.def?.format !== undefined && /int/.test(zod.def.format);
  let min: { value: number; inclusive: boolean } | undefined;
  let max: { value: number; inclusive: boolean } | undefined;
  for (const check of checks) {
    if (check.check === 'number_format' && check.format && /int/.test(check.format)) integer = true;
    const bound = check.value !== undefined ? { value: check.value, inclusive: !!check.inclusive } : undefined;
    if (check.check === 'greater_than') min = bound;
    if (check.check === 'less_than') max = bound;
  }
  const kind = integer ? 'an integer' : 'a number';
  if (min && max && min.inclusive && max.inclusive) return `${kind} between ${min.value} and ${max.value}`;
  const bounds = [
    min ? `${min.inclusive ? '>=' : '>'} ${min.value}` : undefined,
    max ? `${max.inclusive ? '<=' : '<'} ${max.value}` : undefined,
  ].filter((b): b is string => b !== undefined);
  return bounds.length === 0 ? kind : `${kind} ${bounds.join(' and ')}`;
}

function describeExpected(issue: Extract<RawIssue, { code: 'invalid_type' }>): string {
  // For `.int()` the failing part is a check; the schema that owns it knows the whole range.
  const owner = (issue as { schema?: unknown }).schema ?? issue.inst;
  const type = (owner as { _zod?: { def?: { type?: string } } } | undefined)?._zod?.def?.type;
  if (type === 'number' || issue.expected === 'number' || issue.expected === 'int') return describeNumberSchema(owner);
  return KIND_BY_TYPE[issue.expected] ?? issue.expected;
}

/**
 * For a failed bound check: the whole range of the owning number schema (zod attaches it to the
 * issue as `schema`), falling back to the bound that failed.
 */
function describeBoundedNumber(issue: RawIssue, failedBound: string): string {
  const owner = (issue as { schema?: { _zod?: { def?: { type?: string } } } }).schema;
  if (owner?._zod?.def?.type === 'number') return describeNumberSchema(owner);
  return `a number ${failedBound}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function sizeNoun(origin: string): string {
  if (origin === 'string') return 'character';
  if (origin === 'array' || origin === 'set') return 'item';
  if (origin === 'object' || origin === 'record' || origin === 'map') return 'entry';
  return 'item';
}

/** A zod error map that says what was expected and what was found. Pass as `{ error: configErrorMap }`. */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  const got = `got ${describeValue(issue.input)}`;
  switch (issue.code) {
    case 'invalid_type':
      return expectedGot(describeExpected(issue), issue.input);
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${quoteList(issue.values)}, ${got}`
        : `expected one of ${quoteList(issue.values)}, ${got}`;
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
        return `expected ${describeBoundedNumber(issue, `${issue.inclusive ? '>=' : '>'} ${issue.minimum}`)}, ${got}`;
      }
      if (issue.origin === 'string' && min === 1) return 'must not be empty';
      if (issue.origin === 'array' && min === 1) return 'must list at least one item, got an empty list';
      return `expected at least ${plural(min, sizeNoun(issue.origin))}`;
    }
    case 'too_big': {
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') {
        return `expected ${describeBoundedNumber(issue, `${issue.inclusive ? '<=' : '<'} ${issue.maximum}`)}, ${got}`;
      }
      return `expected at most ${plural(Number(issue.maximum), sizeNoun(issue.origin))}`;
    }
    case 'invalid_format':
      if (issue.format === 'regex' && 'pattern' in issue && issue.pattern) {
        return `expected text matching ${String(issue.pattern)}, ${got}`;
      }
      return `expected ${issue.format} format, ${got}`;
    case 'not_multiple_of':
      return `expected a multiple of ${issue.divisor}, ${got}`;
    case 'unrecognized_keys': {
      // issuesFromZod turns this into one "unknown key" issue per key and appends this hint.
      const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def
        ?.shape;
      return shape ? `${ALLOWED_KEYS_PREFIX}${Object.keys(shape).join(', ')}` : '';
    }
    case 'invalid_union':
      return `no allowed form matches, ${got}`;
    case 'invalid_key':
      return `invalid key ${describeValue(issue.input)}`;
    case 'invalid_element':
      return `invalid entry ${describeValue(issue.input)}`;
    default:
      return `invalid value, ${got}`;
  }
};

/** True when every issue of a union branch says "the value is not this kind at all". */
function isWrongBranch(issues: readonly z.core.$ZodIssue[]): boolean {
  return issues.every((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'));
}

/**
 * Zod issues → ConfigIssues with paths prefixed by `prefix`. Unknown keys become one issue per
 * key, pointing at the key; a union whose value plainly meant one of its forms reports that
 * form's problems instead of "no form matches".
 */
export function issuesFromZod(issues: readonly z.core.$ZodIssue[], prefix: readonly PathSegment[] = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const at = [...prefix, ...(issue.path as PathSegment[])];
    if (issue.code === 'unrecognized_keys') {
      const hint = issue.message.startsWith(ALLOWED_KEYS_PREFIX) ? `; ${issue.message}` : '';
      for (const key of issue.keys) {
        out.push({ path: formatPath([...at, key]), message: `unknown key "${key}"${hint}` });
      }
      continue;
    }
    if (issue.code === 'invalid_union') {
      const meant = issue.errors.filter((branch) => !isWrongBranch(branch));
      if (meant.length === 1) {
        out.push(...issuesFromZod(meant[0], at));
        continue;
      }
    }
    if (issue.code === 'invalid_key' && issue.issues.length > 0) {
      // The path already ends with the offending key; say what is wrong with it.
      for (const inner of issue.issues) out.push({ path: formatPath(at), message: `invalid key: ${inner.message}` });
      continue;
    }
    out.push({ path: formatPath(at), message: issue.message });
  }
  return out;
}

export type ValidationResult<T> = { success: true; data: T } | { success: false; issues: ConfigIssue[] };

/** Parses with `configErrorMap`, returning ConfigIssues (paths prefixed by `prefix`) on failure. */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix: readonly PathSegment[] = [],
): ValidationResult<z.output<S>> {
  const result = schema.safeParse(input, { error: configErrorMap });
  if (result.success) return { success: true, data: result.data };
  return { success: false, issues: issuesFromZod(result.error.issues, prefix) };
}

// masking.yaml: what happens to each column of one source table on its way to an environment.
//
//   keyring: ~/.config/strata/keyring.yaml   # outside the repository, mode 600
//   table: customers                          # the source table (SQLite sources)
//   columns:
//     id:    { op: hmac, prefix: user_ }
//     email: { op: fake, kind: email }
//     card:  { op: mask, keep: 4 }
//     zip:   { op: generalize, to: zip3 }
//     notes: drop                             # shorthand for { op: drop }
//
// Every column of the source must be named, so that a column added upstream stops the run instead
// of flowing through unmasked.

import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, type ConfigIssue, expectedGot, formatPath, quoteList, validate } from '../../validation/errors';
import { parseYamlMapping } from '../../config/yaml';
import { resolveUserPath } from '../../tools/files';

export const OPS = ['keep', 'hmac', 'redact', 'mask', 'fake', 'generalize', 'drop'] as const;
export type Op = (typeof OPS)[number];
/** Ops whose output depends on the environment's key: they need a keyring. */
export const KEYED_OPS: readonly Op[] = ['hmac', 'fake'];

export const FAKE_KINDS = ['name', 'first_name', 'last_name', 'email', 'phone', 'address', 'company'] as const;
export type FakeKind = (typeof FAKE_KINDS)[number];

export const SQL_TYPES = ['TEXT', 'INTEGER', 'REAL', 'NUMERIC', 'BLOB'] as const;
export type SqlType = (typeof SQL_TYPES)[number];

// Table names go into SQL; column names come from the source and are always quoted.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const identifier = z.string().regex(IDENTIFIER, {
  error: (issue) => expectedGot('a SQL identifier (letters, digits and _, not starting with a digit)', issue.input),
});

const sqlType = z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(SQL_TYPES));
/** Shared by every op: the declared type of the column in an SQLite output. */
const common = { type: sqlType.optional() };

const keepSchema = z.strictObject({ op: z.literal('keep'), ...common });
const dropSchema = z.strictObject({ op: z.literal('drop') });
const hmacSchema = z.strictObject({
  op: z.literal('hmac'),
  ...common,
  /** Readable text put before the pseudonym, e.g. `user_`. */
  prefix: z.string().max(64).default(''),
  /** Characters of pseudonym after the prefix. */
  length: z.number().int().min(8).max(51).default(16),
  alphabet: z.enum(['base32', 'hex', 'digits']).default('base32'),
  /**
   * Columns hashed with different domains get unrelated pseudonyms for the same value. The default
   * (none) keeps joins across columns and tables: orders.customer_id matches customers.id.
   */
  domain: z.string().min(1).optional(),
});
const redactSchema = z.strictObject({
  op: z.literal('redact'),
  ...common,
  with: z.union([z.string(), z.number(), z.null()]).default('[redacted]'),
});
const maskSchema = z.strictObject({
  op: z.literal('mask'),
  ...common,
  /** Trailing characters left visible. */
  keep: z.number().int().min(0).max(64).default(4),
  char: z.string().length(1).default('*'),
  /** false (default): a fixed run of four mask characters, so the output does not reveal the length. */
  preserveLength: z.boolean().default(false),
});
const fakeSchema = z.strictObject({
  op: z.literal('fake'),
  ...common,
  kind: z.enum(FAKE_KINDS),
  /** Overrides the policy's `seed` for this column. */
  seed: z.number().int().optional(),
});
const generalizeSchema = z
  .strictObject({
    op: z.literal('generalize'),
    ...common,
    to: z.enum(['month', 'bucket', 'zip3']),
    /** bucket: width of each bucket, e.g. 100 → `[100,200)`. */
    size: z.number().positive().optional(),
    /** bucket: values below `min` fall into `(-inf,min)`, at or above `max` into `[max,+inf)` (top-coding). */
    min: z.number().optional(),
    max: z.number().optional(),
    /** zip3: three-digit prefixes to publish as `000` (e.g. HIPAA safe harbor's sparse areas). */
    suppress: z.array(z.string().regex(/^\d{3}$/, { error: (i) => expectedGot('three digits', i.input) })).optional(),
    /** A value that cannot be generalized (not a date, number or ZIP): fail the run, or write an empty value. */
    invalid: z.enum(['fail', 'empty']).default('fail'),
  })
  .superRefine((rule, ctx) => {
    const only = (key: 'size' | 'min' | 'max' | 'suppress', to: string) => {
      if (rule[key] !== undefined && rule.to !== to)
        ctx.addIssue({ code: 'custom', path: [key], message: `${key} applies to \`to: ${to}\` only` });
    };
    if (rule.to === 'bucket' && rule.size === undefined)
      ctx.addIssue({ code: 'custom', path: ['size'], message: 'missing; expected the bucket width, a number > 0' });
    only('size', 'bucket');
    only('min', 'bucket');
    only('max', 'bucket');
    only('suppress', 'zip3');
    if (rule.min !== undefined && rule.max !== undefined && rule.min >= rule.max) {
      ctx.addIssue({ code: 'custom', path: ['min'], message: `min (${rule.min}) must be below max (${rule.max})` });
    }
  });

const RULE_SCHEMAS = {
  keep: keepSchema,
  drop: dropSchema,
  hmac: hmacSchema,
  redact: redactSchema,
  mask: maskSchema,
  fake: fakeSchema,
  generalize: generalizeSchema,
} as const;

export type KeepRule = z.output<typeof keepSchema>;
export type DropRule = z.output<typeof dropSchema>;
export type HmacRule = z.output<typeof hmacSchema>;
export type RedactRule = z.output<typeof redactSchema>;
export type MaskRule = z.output<typeof maskSchema>;
export type FakeRule = z.output<typeof fakeSchema>;
export type GeneralizeRule = z.output<typeof generalizeSchema>;
export type ColumnRule = KeepRule | DropRule | HmacRule | RedactRule | MaskRule | FakeRule | GeneralizeRule;

const documentSchema = z.strictObject({
  keyring: z.string().min(1).optional(),
  table: identifier.optional(),
  /** The table written in an SQLite output; default `table`, or the CSV source's file name. */
  outputTable: identifier.optional(),
  /** Seed of every `fake` column without its own. */
  seed: z.number().int().default(0),
  columns: z.record(z.string().min(1), z.unknown()).refine((c) => Object.keys(c).length > 0, {
    error: 'expected at least one column',
  }),
});

export interface MaskingPolicy {
  /** The policy file, as given: every error about the policy names it. */
  file: string;
  /** Absolute path of the keyring (relative paths are resolved against the policy's directory). */
  keyring?: string;
  table?: string;
  outputTable?: string;
  seed: number;
  /** In the order of the file. */
  columns: Map<string, ColumnRule>;
}

/** True when some column's output depends on the environment key, i.e. the keyring is needed. */
export function usesKeys(policy: MaskingPolicy): boolean {
  return [...policy.columns.values()].some((rule) => KEYED_OPS.includes(rule.op));
}

/** Validates a parsed policy document; `file` names it in errors. */
export function parsePolicy(document: unknown, file: string): MaskingPolicy {
  const top = validate(documentSchema, document);
  // Column problems are reported along with top-level ones: one run of the command shows them all.
  const issues: ConfigIssue[] = top.success ? [] : [...top.issues];
  const rawColumns = (document as { columns?: unknown } | null)?.columns;
  const columnEntries =
    rawColumns && typeof rawColumns === 'object' && !Array.isArray(rawColumns) ? Object.entries(rawColumns) : [];
  const columns = new Map<string, ColumnRule>();
  for (const [name, raw] of columnEntries) {
    const at = ['columns', name];
    const spec = typeof raw === 'string' ? { op: raw } : raw;
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
      issues.push(...issuesAt(at, `expected an op name (${OPS.join(', ')}) or a mapping with \`op\``, raw));
      continue;
    }
    const op = (spec as { op?: unknown }).op;
    if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) {
      issues.push(...issuesAt([...at, 'op'], `one of ${quoteList(OPS)}`, op));
      continue;
    }
    const result = validate(RULE_SCHEMAS[op as Op], spec, at);
    if (result.success) columns.set(name, result.data as ColumnRule);
    else issues.push(...result.issues);
  }
  const keyed = [...columns.entries()].filter(([, rule]) => KEYED_OPS.includes(rule.op)).map(([name]) => name);
  if (top.success && keyed.length > 0 && top.data.keyring === undefined) {
    issues.push({
      path: 'keyring',
      message: `missing; columns ${quoteList(keyed)} use hmac or fake, which are keyed by a keyring file outside the repository`,
    });
  }
  if (!top.success || issues.length > 0) throw new ConfigError(file, issues);
  const baseDir = path.dirname(path.resolve(file));
  return {
    file,
    keyring: top.data.keyring === undefined ? undefined : resolveUserPath(top.data.keyring, baseDir),
    table: top.data.table,
    outputTable: top.data.outputTable,
    seed: top.data.seed,
    columns,
  };
}

function issuesAt(at: string[], expected: string, input: unknown): ConfigIssue[] {
  return [{ path: formatPath(at), message: expectedGot(expected, input) }];
}

/** Reads and validates masking.yaml. */
export function loadPolicy(file: string): MaskingPolicy {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [
      {
        path: '',
        message: code === 'ENOENT' ? 'policy file not found' : `cannot read the policy (${code ?? String(error)})`,
      },
    ]);
  }
  return parsePolicy(parseYamlMapping(text, file, 'a masking policy (keyring, table, columns)'), file);
}

/**
 * Checks that the policy names every column of the source and no other. `sourceLabel` names the
 * source in the messages (a file, or `file` table `t`).
 */
export function checkCoverage(policy: MaskingPolicy, sourceColumns: readonly string[], sourceLabel: string): void {
  const issues: ConfigIssue[] = [];
  const present = new Set(sourceColumns);
  const uncovered = sourceColumns.filter((c) => !policy.columns.has(c));
  if (uncovered.length > 0) {
    issues.push({
      path: 'columns',
      message:
        `${uncovered.length === 1 ? 'column' : 'columns'} ${quoteList(uncovered)} of ${sourceLabel} ${uncovered.length === 1 ? 'is' : 'are'} not covered by the policy; ` +
        `give each an op (${OPS.join(', ')}), e.g. \`${uncovered[0]}: { op: keep }\` for a column that holds nothing sensitive`,
    });
  }
  for (const name of policy.columns.keys()) {
    if (!present.has(name)) {
      issues.push({
        path: formatPath(['columns', name]),
        message: `${sourceLabel} has no column "${name}"; its columns are ${quoteList(sourceColumns)}`,
      });
    }
  }
  if (issues.length > 0) throw new ConfigError(policy.file, issues);
}

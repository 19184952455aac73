import { z } from 'zod';
import { describeValue, expectedGot } from '../validation/errors';
import type { GateConfig } from './config-types';

export const EXPECTATION_KINDS = [
  'not-null',
  'between',
  'unique',
  'in-set',
  'row-count',
  'references',
  'distribution',
] as const;
export type ExpectationKind = (typeof EXPECTATION_KINDS)[number];

const knownKinds = EXPECTATION_KINDS.join(', ');
const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const column = z.string({ error: (issue) => expectedGot('a column name', issue.input) }).min(1);
const tableName = z.string({ error: (issue) => expectedGot('a table name', issue.input) }).min(1);
/** Fraction of the rows that must satisfy the expectation (GE's `mostly`). */
const mostly = z.number().gt(0).max(1).default(1);
const name = z.string().min(1).optional();

/** min <= max, reported at `max`; with `needOne`, at least one of them. */
function bounds<T extends { min?: number; max?: number }>(needOne: boolean) {
  return (e: T, ctx: z.RefinementCtx) => {
    if (needOne && e.min === undefined && e.max === undefined) {
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'missing; expected `min`, `max` or both' });
    }
    if (e.min !== undefined && e.max !== undefined && e.min > e.max) {
      ctx.addIssue({ code: 'custom', path: ['max'], message: `expected a number >= min (${e.min}), got ${e.max}` });
    }
  };
}

const expectationSchema = z.discriminatedUnion(
  'expect',
  [
    z.strictObject({ expect: z.literal('not-null'), name, column, mostly }),
    z
      .strictObject({
        expect: z.literal('between'),
        name,
        column,
        min: finite.optional(),
        max: finite.optional(),
        mostly,
      })
      .superRefine(bounds(true)),
    z.strictObject({ expect: z.literal('unique'), name, column, mostly }),
    z.strictObject({
      expect: z.literal('in-set'),
      name,
      column,
      values: z
        .array(z.union([z.string(), finite], { error: (issue) => expectedGot('a string or a number', issue.input) }))
        .min(1),
      mostly,
    }),
    z
      .strictObject({
        expect: z.literal('row-count'),
        name,
        min: z.number().int().min(0).optional(),
        max: z.number().int().min(0).optional(),
      })
      .superRefine(bounds(true)),
    z.strictObject({ expect: z.literal('references'), name, column, table: tableName, refColumn: column, mostly }),
    z.strictObject({ expect: z.literal('distribution'), name, column, maxKs: z.number().gt(0).max(1) }),
  ],
  {
    error: (issue) => {
      if (issue.code === 'invalid_union') {
        const kind = (issue.input as { expect?: unknown } | undefined)?.expect;
        return kind === undefined
          ? `missing; expected an expectation kind, one of ${knownKinds}`
          : `unknown expectation ${describeValue(kind)}; known kinds: ${knownKinds}`;
      }
      if (issue.code === 'invalid_type') {
        return expectedGot(`an expectation: a mapping with \`expect\` (one of ${knownKinds})`, issue.input);
      }
      return undefined;
    },
  },
);

export type Expectation = z.output<typeof expectationSchema>;

export const expectationsOptions = z.strictObject({
  /** The table the expectations are about (default: the candidate's input table). */
  table: tableName.optional(),
  /** Profile JSON for `distribution` (default: the layer's synthetic data source). A relative path is resolved against the ladder file. */
  profile: z.string().min(1).optional(),
  expectations: z.array(expectationSchema).min(1),
});

export type ExpectationsOptions = z.infer<typeof expectationsOptions>;

export const expectationsConfig: GateConfig<ExpectationsOptions> = {
  type: 'expectations',
  description:
    "data expectations on the environment's tables: nulls, ranges, uniqueness, allowed values, row count, references, distribution",
  config: z.strictObject({ threshold: z.number().int().min(0).optional(), options: expectationsOptions }),
  resolvePaths(options, resolve) {
    if (options.profile) options.profile = resolve(options.profile);
  },
};

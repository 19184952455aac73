// The profile document: what `strata data profile` writes and `strata data generate` reads.
// Statistics only — quantiles on a half-grid, category counts of at least k, identifier formats —
// never a row and never a value seen fewer than k times. The zod schema is the reader's contract:
// a profile that does not match it is refused with the file and the path of every problem.

import fs from 'node:fs';
import { z } from 'zod';
import { ConfigError, validate } from '../../validation/errors';
import { DataInputError } from './errors';

export const PROFILE_VERSION = 1;

export const COLUMN_TYPES = [
  'numeric',
  'integer',
  'categorical',
  'datetime',
  'boolean',
  'identifier',
  'free-text',
] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** The quantile levels every numeric and datetime column reports, in percent. */
export const QUANTILE_LEVELS = [0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 100] as const;

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const count = z.number().int().nonnegative();
const fraction = z.number().min(0).max(1);

const quantilesSchema = z.object({
  p0: finite,
  p1: finite,
  p5: finite,
  p10: finite,
  p25: finite,
  p50: finite,
  p75: finite,
  p90: finite,
  p95: finite,
  p99: finite,
  p100: finite,
});
export type Quantiles = z.infer<typeof quantilesSchema>;

const histogramSchema = z.object({
  edges: z.array(finite).min(2),
  counts: z.array(count).min(1),
});

/** Shared by numeric, integer and datetime columns: the marginal distribution. */
const distributionShape = {
  /** Lower and upper bounds: the k-th smallest and k-th largest values, moved onto the half-grid. */
  min: finite,
  max: finite,
  mean: finite,
  std: finite.nonnegative(),
  quantiles: quantilesSchema,
  histogram: histogramSchema,
  /** 101 quantiles at 0 %, 1 %, …, 100 %: the inverse CDF synthesis samples from. */
  percentiles: z.array(finite).length(101),
};

/** Exact frequencies of the values seen at least k times (numbers, or dates as epoch ms). */
const discreteSchema = z
  .object({
    values: z.array(z.object({ value: finite, count })),
    otherCount: count,
    otherDistinct: count,
  })
  .optional();

const numericSchema = z.object({
  ...distributionShape,
  /** Decimal places of the source values (9 = continuous). */
  decimals: z.number().int().min(0).max(9),
  /** For columns with few distinct values: exact frequencies of the values seen at least k times. */
  discrete: discreteSchema,
});

const seasonalitySchema = z.object({
  hourOfDay: z.array(fraction).length(24).nullable(),
  dayOfWeek: z.array(fraction).length(7).nullable(),
  month: z.array(fraction).length(12),
});

const datetimeSchema = z.object({
  ...distributionShape,
  format: z.string().regex(/^YYYY[-/]MM[-/]DD/, 'expected a format such as "YYYY-MM-DD HH:mm:ss"'),
  resolutionMs: z.number().positive(),
  seasonality: seasonalitySchema,
  /** For columns with few distinct dates: exact frequencies (epoch ms) of the values seen at least k times. */
  discrete: discreteSchema,
});

const categoricalSchema = z.object({
  categories: z.array(z.object({ value: z.string(), count: count.positive() })),
  /** Everything seen fewer than k times, folded together. */
  other: z.object({ count, distinct: count }),
});

const booleanSchema = z.object({
  trueToken: z.string(),
  falseToken: z.string(),
  trueCount: count,
  falseCount: count,
});

const chunkSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('literal'), text: z.string() }),
  z.object({
    kind: z.literal('class'),
    charset: z.enum(['digit', 'lower', 'upper', 'alpha', 'hex', 'HEX', 'lowernum', 'uppernum', 'alnum']),
    min: count,
    max: count,
  }),
]);
export type FormatChunk = z.infer<typeof chunkSchema>;

const lengthSchema = z.object({ min: count, max: count, mean: finite });

const identifierSchema = z.object({
  kind: z.enum(['string', 'integer']),
  distinctRatio: fraction,
  length: lengthSchema,
  /** Shapes shared by at least k values, most common first. */
  formats: z.array(z.object({ pattern: z.string(), share: fraction, chunks: z.array(chunkSchema) })),
  /** Share of values whose shape is rarer than k (their shape is not published either). */
  otherShare: fraction,
  /** Integer ids: the values are consecutive integers (a row counter), in whatever order. */
  sequential: z.boolean(),
});

const textSchema = z.object({
  length: lengthSchema.extend({ percentiles: z.array(count).length(101) }),
  words: z.object({ mean: finite, max: count }),
});

const columnBase = {
  name: z.string().min(1),
  missing: count,
  missingRate: fraction,
};

const columnSchema = z.discriminatedUnion('type', [
  z.object({ ...columnBase, type: z.literal('numeric'), numeric: numericSchema }),
  z.object({ ...columnBase, type: z.literal('integer'), numeric: numericSchema }),
  z.object({ ...columnBase, type: z.literal('datetime'), datetime: datetimeSchema }),
  z.object({ ...columnBase, type: z.literal('categorical'), categorical: categoricalSchema }),
  z.object({ ...columnBase, type: z.literal('boolean'), boolean: booleanSchema }),
  z.object({ ...columnBase, type: z.literal('identifier'), identifier: identifierSchema }),
  z.object({ ...columnBase, type: z.literal('free-text'), text: textSchema }),
]);

const associationSchema = z.object({
  columns: z.tuple([z.string(), z.string()]),
  method: z.enum(['spearman', 'cramers_v']),
  value: z.number().min(-1).max(1),
});

export const profileSchema = z
  .object({
    version: z.literal(PROFILE_VERSION),
    table: z.string().min(1),
    source: z.object({ kind: z.enum(['csv', 'sqlite', 'postgres', 'rows']) }),
    rows: count.positive(),
    /** Rows the sample-based statistics (quantiles, associations) were computed on. */
    sampledRows: count.positive(),
    k: z.number().int().positive(),
    createdAt: z.string(),
    columns: z.array(columnSchema).min(1),
    associations: z.array(associationSchema),
    /** Correlation of the columns' normal scores: the Gaussian copula synthesis draws from. */
    copula: z.object({ columns: z.array(z.string()), correlation: z.array(z.array(z.number().min(-1).max(1))) }),
  })
  .superRefine((p, ctx) => {
    const names = new Set(p.columns.map((c) => c.name));
    if (names.size !== p.columns.length)
      ctx.addIssue({ code: 'custom', path: ['columns'], message: 'column names must be unique' });
    p.copula.columns.forEach((name, i) => {
      if (!names.has(name))
        ctx.addIssue({
          code: 'custom',
          path: ['copula', 'columns', i],
          message: `no column named ${JSON.stringify(name)}`,
        });
    });
    const m = p.copula.columns.length;
    if (p.copula.correlation.length !== m || p.copula.correlation.some((row) => row.length !== m)) {
      ctx.addIssue({
        code: 'custom',
        path: ['copula', 'correlation'],
        message: `expected a ${m}×${m} matrix (one row and column per copula column)`,
      });
    }
    p.columns.forEach((c, i) => {
      const dist =
        c.type === 'numeric' || c.type === 'integer' ? c.numeric : c.type === 'datetime' ? c.datetime : undefined;
      if (dist) {
        if (dist.histogram.edges.length !== dist.histogram.counts.length + 1) {
          ctx.addIssue({
            code: 'custom',
            path: ['columns', i, c.type === 'datetime' ? 'datetime' : 'numeric', 'histogram'],
            message: 'expected one more edge than counts',
          });
        }
        if (dist.percentiles.some((v, j) => j > 0 && v < dist.percentiles[j - 1])) {
          ctx.addIssue({
            code: 'custom',
            path: ['columns', i, c.type === 'datetime' ? 'datetime' : 'numeric', 'percentiles'],
            message: 'expected non-decreasing values',
          });
        }
      }
    });
  });

export type DataProfile = z.infer<typeof profileSchema>;
export type ColumnProfile = DataProfile['columns'][number];
export type NumericStats = z.infer<typeof numericSchema>;
export type DatetimeStats = z.infer<typeof datetimeSchema>;
export type Association = z.infer<typeof associationSchema>;
export type ColumnOf<T extends ColumnType> = Extract<ColumnProfile, { type: T }>;

/** Reads and validates a profile file; any problem is a ConfigError naming the file (exit 2). */
export function loadProfile(file: string): DataProfile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataInputError(
      file,
      '',
      code === 'ENOENT' ? 'no such profile file' : `cannot read the profile: ${(err as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DataInputError(file, '', `not a valid profile: the JSON does not parse (${(err as Error).message})`);
  }
  return parseProfile(json, file);
}

/** Validates an in-memory profile document; `file` names it in errors. */
export function parseProfile(json: unknown, file = 'profile'): DataProfile {
  const result = validate(profileSchema, json);
  if (!result.success) throw new ConfigError(file, result.issues);
  return result.data;
}

import { z } from 'zod';
import type { GateConfig } from './config-types';

export const consistencyOptions = z.strictObject({
  /** Minimum rows expected; defaults to the layer's seed.rows. */
  minRows: z.number().int().positive().optional(),
  /** Largest tolerated fraction of nulls in a non-nullable column. */
  maxNullRate: z.number().min(0).max(1).default(0),
  /** Check values against the min/max/enum of the candidate's input schema. */
  checkRanges: z.boolean().default(true),
});

export type ConsistencyOptions = z.infer<typeof consistencyOptions>;

export const consistencyConfig: GateConfig<ConsistencyOptions> = {
  type: 'consistency',
  description: 'row count, null rate and value ranges of the seeded data',
  config: z.strictObject({
    threshold: z.number().int().min(0).optional(),
    options: consistencyOptions.default(consistencyOptions.parse({})),
  }),
};

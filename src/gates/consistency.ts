import { z } from 'zod';
import type { GateDefinition } from './types';

// Data consistency: row count, nulls and ranges of the seeded table against the layer's seed
// settings and the candidate's declared input ranges. Measured value: violations found.
const options = z.strictObject({
  /** Minimum rows expected; defaults to the layer's seed.rows. */
  minRows: z.number().int().positive().optional(),
  /** Largest tolerated fraction of nulls in a non-nullable column. */
  maxNullRate: z.number().min(0).max(1).default(0),
  /** Check values against the min/max/enum of the candidate's input schema. */
  checkRanges: z.boolean().default(true),
});

export type ConsistencyOptions = z.infer<typeof options>;

export const consistencyGate: GateDefinition<ConsistencyOptions> = {
  type: 'consistency',
  description: 'row count, null rate and value ranges of the seeded data',
  config: z.strictObject({ threshold: z.number().int().min(0).optional(), options: options.default(options.parse({})) }),
  async run() {
    throw new Error('consistency gate: not implemented yet');
  },
};

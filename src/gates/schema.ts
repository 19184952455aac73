import { z } from 'zod';
import type { GateDefinition } from './types';

// Seeded schema vs the candidate's input schema: every required feature exists in the table
// with a compatible column type. Measured value: number of incompatibilities (threshold 0).
const config = z.strictObject({
  threshold: z.number().int().min(0).optional(),
  options: z.strictObject({}).default({}),
});

export const schemaGate: GateDefinition<Record<string, never>> = {
  type: 'schema',
  description: "the environment's table has every column of the candidate's input schema, with a compatible type",
  config,
  async run() {
    throw new Error('schema gate: not implemented yet');
  },
};

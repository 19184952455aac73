import { z } from 'zod';
import type { GateConfig } from './config-types';

export const schemaConfig: GateConfig<Record<string, never>> = {
  type: 'schema',
  description: "the environment's table has every column of the candidate's input schema, with a compatible type",
  config: z.strictObject({
    threshold: z.number().int().min(0).optional(),
    options: z.strictObject({}).default({}),
  }),
};

import { z } from 'zod';
import type { GateConfig } from './config-types';

export const schemaCompatibilityConfig: GateConfig<Record<string, never>> = {
  type: 'schema-compatibility',
  description:
    "the environment's table can be read by the candidate's input schema (backward compatibility: no removed required column, no narrowed type, no unexpected nulls)",
  config: z.strictObject({
    threshold: z.number().int().min(0).optional(),
    options: z.strictObject({}).default({}),
  }),
};

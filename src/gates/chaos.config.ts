import { z } from 'zod';
import { faultSchema } from '../chaos/faults';
import { DURATION_HINT, parseDuration } from '../domain/duration';
import { loadProfileSchema } from '../load/profile';
import type { GateConfig } from './config-types';
import { resolveLoadPaths } from './slo.config';

const duration = z.string().refine((s) => parseDuration(s) !== undefined, { message: `expected ${DURATION_HINT}` });
export const chaosOptions = z.strictObject({
  fault: faultSchema,
  load: loadProfileSchema,
  budget: z.strictObject({
    /** Error rate tolerated while the fault holds, 0..1. */
    errorRate: z.number().min(0).max(1),
    /** p99 latency (ms) tolerated while the fault holds. */
    p99: z.number().positive(),
  }),
  /** How soon after the fault is lifted answers must be normal again. */
  recovery: duration.default('5s'),
});

export type ChaosOptions = z.infer<typeof chaosOptions>;

export const chaosConfig: GateConfig<ChaosOptions> = {
  type: 'chaos',
  exclusive: true,
  description:
    'error rate and p99 under a real fault of the dependency (or the candidate killed), and the recovery time',
  config: z.strictObject({ threshold: z.undefined().optional(), options: chaosOptions }),
  resolvePaths: (options, resolve) => resolveLoadPaths(options.load, resolve),
};

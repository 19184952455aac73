import { z } from 'zod';
import { type LoadProfile, loadProfileSchema } from '../load/profile';
import type { GateConfig } from './config-types';

export const sloOptions = z.strictObject({
  load: loadProfileSchema,
  /** Largest tolerated error rate, 0..1. */
  errorRate: z.number().min(0).max(1).default(0.01),
  /** Smallest tolerated achieved rate, percent of the target rate. */
  achievedRate: z.number().gt(0).max(100).default(95),
});

export type SloOptions = z.infer<typeof sloOptions>;

/** A recorded request log named in a load profile is relative to the ladder file. */
export function resolveLoadPaths(load: LoadProfile, resolve: (file: string) => string): void {
  if (load.requests.source === 'replay') load.requests.file = resolve(load.requests.file);
}

export const sloConfig: GateConfig<SloOptions> = {
  type: 'slo',
  exclusive: true,
  description: 'p99 latency, error rate and achieved rate of a representative open-model load run',
  config: z.strictObject({ threshold: z.number().positive(), options: sloOptions }),
  resolvePaths: (options, resolve) => resolveLoadPaths(options.load, resolve),
};

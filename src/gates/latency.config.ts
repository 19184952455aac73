import { z } from 'zod';
import type { GateConfig } from './config-types';

export const latencyOptions = z.strictObject({
  requests: z.number().int().min(1).max(100_000).default(200),
  percentile: z.number().gt(0).max(100).default(95),
  concurrency: z.number().int().min(1).max(256).default(4),
  /** Per-request timeout; a timed-out request counts as an error. */
  timeoutMs: z.number().int().positive().default(2000),
});

export type LatencyOptions = z.infer<typeof latencyOptions>;

export const latencyConfig: GateConfig<LatencyOptions> = {
  type: 'latency',
  exclusive: true,
  description: 'p95 (or another percentile) of N real HTTP requests, in milliseconds',
  config: z.strictObject({
    threshold: z.number().positive(),
    options: latencyOptions.default(latencyOptions.parse({})),
  }),
};

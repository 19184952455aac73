import { z } from 'zod';
import type { GateConfig } from './config-types';

export const qualityOptions = z.strictObject({
  metric: z.enum(['auc', 'accuracy']).default('auc'),
  /** Decision threshold on the score for accuracy. */
  cutoff: z.number().min(0).max(1).default(0.5),
  /** Records per /predict request. */
  batchSize: z.number().int().min(1).max(10_000).default(500),
  /** Score at most this many records (all when absent). */
  limit: z.number().int().positive().optional(),
});

export type QualityOptions = z.infer<typeof qualityOptions>;

export const qualityConfig: GateConfig<QualityOptions> = {
  type: 'quality',
  description: 'AUC or accuracy of the running candidate on the labelled records of the environment',
  config: z.strictObject({
    threshold: z.number().min(0).max(1),
    options: qualityOptions.default(qualityOptions.parse({})),
  }),
};

import { z } from 'zod';
import type { GateDefinition } from './types';

// Model quality: scores every labelled record of the environment by calling the running
// candidate over HTTP, then computes AUC or accuracy. Passes when value >= threshold.
const options = z.strictObject({
  metric: z.enum(['auc', 'accuracy']).default('auc'),
  /** Decision threshold on the score for accuracy. */
  cutoff: z.number().min(0).max(1).default(0.5),
  /** Records per /predict request. */
  batchSize: z.number().int().min(1).max(10_000).default(500),
  /** Score at most this many records (all when absent). */
  limit: z.number().int().positive().optional(),
});

export type QualityOptions = z.infer<typeof options>;

export const qualityGate: GateDefinition<QualityOptions> = {
  type: 'quality',
  description: 'AUC or accuracy of the running candidate on the labelled records of the environment',
  config: z.strictObject({ threshold: z.number().min(0).max(1), options: options.default(options.parse({})) }),
  async run() {
    throw new Error('quality gate: not implemented yet');
  },
};

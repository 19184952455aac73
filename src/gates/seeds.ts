import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { DEFAULT_MAX_STD } from '../domain/seeds';
import type { GateDefinition } from './types';

// Many seeds: the candidate's metric on data generated with each of the layer's `seeds`, gated on
// the mean (threshold) and the spread (maxStd). The seeds run as child workflows of the layer, and
// the layer workflow computes this gate from their results (src/domain/seeds.ts): there is nothing
// for an activity to measure, so run() is never called by the layer.
const options = z.strictObject({
  metric: z.enum(['auc', 'accuracy']).default('auc'),
  /** Largest tolerated standard deviation of the metric across seeds. */
  maxStd: z.number().min(0).default(DEFAULT_MAX_STD),
  /** Decision threshold on the score for accuracy. */
  cutoff: z.number().min(0).max(1).default(0.5),
  /** Score at most this many records per seed (all when absent). */
  limit: z.number().int().positive().optional(),
});

export type SeedsOptions = z.infer<typeof options>;

export const seedsGate: GateDefinition<SeedsOptions> = {
  type: 'seeds',
  description: "mean and spread of the candidate's metric over data generated with each of the layer's seeds",
  config: z.strictObject({ threshold: z.number().min(0).max(1), options: options.default(options.parse({})) }),
  async run() {
    throw ApplicationFailure.nonRetryable(
      'the seeds gate is computed by the layer workflow from its seed runs, not by an activity',
      'SeedsGateMisused',
    );
  },
};

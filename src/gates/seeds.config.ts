import { z } from 'zod';
import { DEFAULT_MAX_STD } from '../domain/seeds';
import type { GateConfig } from './config-types';

export const seedsOptions = z.strictObject({
  metric: z.enum(['auc', 'accuracy']).default('auc'),
  /** Largest tolerated standard deviation of the metric across seeds. */
  maxStd: z.number().min(0).default(DEFAULT_MAX_STD),
  /** Decision threshold on the score for accuracy. */
  cutoff: z.number().min(0).max(1).default(0.5),
  /** Score at most this many records per seed (all when absent). */
  limit: z.number().int().positive().optional(),
});

export type SeedsOptions = z.infer<typeof seedsOptions>;

export const seedsConfig: GateConfig<SeedsOptions> = {
  type: 'seeds',
  description: "mean and spread of the candidate's metric over data generated with each of the layer's seeds",
  config: z.strictObject({
    threshold: z.number().min(0).max(1),
    options: seedsOptions.default(seedsOptions.parse({})),
  }),
  computedByWorkflow: true,
  layerFields: [
    {
      field: 'seeds',
      missing: 'a seeds gate needs the layer to declare `seeds: [...]`',
      unused: 'many seeds need a gate of type `seeds` to judge their mean and spread',
    },
  ],
};

import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CandidateRef, GateSpec, LayerSpec } from '../src/domain/ladder';
import type { SeedRunResult } from '../src/domain/seeds';
import { ACTIVITY_OPTIONS } from './activity-options';

const activities = proxyActivities<Activities>(ACTIVITY_OPTIONS);

export interface SeedRunInput {
  promotionId: string;
  layer: LayerSpec;
  candidate: CandidateRef;
  seed: number;
  /** The layer's `seeds` gate: its metric and options. */
  gate: GateSpec;
}

/**
 * One seed of a many-seeds layer, as a child of the layer workflow: generate this seed's data into
 * its own database (same policy, approval, fidelity and PII checks as the seed step), then measure
 * the running candidate on it. Each seed retries on its own; a finished seed's result stays in the
 * layer's history however the others fare.
 */
export async function seedRun(input: SeedRunInput): Promise<SeedRunResult> {
  const seeded = await activities.seedVariant({ layer: input.layer, seed: input.seed });
  const result = await activities.evaluateSeed({
    layer: input.layer,
    candidate: input.candidate,
    seed: input.seed,
    gate: input.gate,
  });
  return { ...result, rows: seeded.rows, fidelity: seeded.data.fidelity?.overall };
}

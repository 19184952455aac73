import { type SeedsOptions, seedsConfig } from './seeds.config';
import type { WorkflowComputedGate } from './types';

// Many seeds: the candidate's metric on data generated with each of the layer's `seeds`, gated on
// the mean (threshold) and the spread (maxStd). The seeds run as child workflows, and the workflow
// computes this gate from their results (workflows/gates.ts, src/domain/seeds.ts): there is
// nothing for an activity to measure, so the gate has no run().
export const seedsGate: WorkflowComputedGate<SeedsOptions> = { ...seedsConfig, computedByWorkflow: true };

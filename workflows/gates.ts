import { executeChild, rootCause, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CandidateRef, GateSpec, LayerSpec } from '../src/domain/ladder';
import { seedRunWorkflowId, seedsGateResult, type SeedRunResult } from '../src/domain/seeds';
import type { GateResult } from '../src/domain/status';
import { seedRun } from './seed-run';

/** What a layer's gates are run against. */
export interface GatesInput {
  /** The promotion (or rollback) the gates run for; children of this workflow carry it. */
  promotionId: string;
  layer: LayerSpec;
  candidate: CandidateRef;
}

type WorkflowGate = (input: GatesInput, gate: GateSpec) => Promise<GateResult>;

/**
 * Gates the workflow computes itself from its children's results. Their definitions in
 * src/gates say `computedByWorkflow: true` (test/unit/gates/registry.test.ts checks both lists
 * agree); every other gate is measured by the runGate activity.
 */
export const WORKFLOW_GATES: Readonly<Record<string, WorkflowGate>> = { seeds: runSeeds };

export interface RunGatesOptions {
  /** Called with each result as it arrives (the layer reports it to the promotion). */
  onResult?: (result: GateResult) => Promise<void>;
  /**
   * Whether this workflow computes workflow gates, asked once a layer has one. Histories of
   * rollbacks recorded before it did sent every gate to the activity: they answer false.
   */
  computesWorkflowGates?: () => boolean;
}

/**
 * Runs the layer's gates in order, each in the activity or in this workflow, and returns every
 * result in the ladder's order. Adjacent gates that say `parallel: true` run side by side; their
 * results are reported once all of them are in, still in the ladder's order.
 */
export async function runGates(
  activities: Pick<Activities, 'runGate'>,
  input: GatesInput,
  opts: RunGatesOptions = {},
): Promise<GateResult[]> {
  // A gate's activity gets the layer without its list of gates: it measures its own gate, and a
  // layer of n gates would otherwise write n copies of all n into its history (2.3 MB at 200).
  // Only the activity's input changes, so recorded histories replay unchanged.
  const { gates: _gates, ...layer } = input.layer;
  const runOne = (gate: GateSpec): Promise<GateResult> => {
    const computed = Object.hasOwn(WORKFLOW_GATES, gate.type) ? WORKFLOW_GATES[gate.type] : undefined;
    return computed && (opts.computesWorkflowGates?.() ?? true)
      ? computed(input, gate)
      : activities.runGate({ layer, candidate: input.candidate, gate });
  };
  const results: GateResult[] = [];
  for (const group of gateGroups(input.layer.gates)) {
    // A single gate is awaited alone, as before `parallel:` existed, so recorded histories replay unchanged.
    const settled = group.length === 1 ? [await runOne(group[0])] : await Promise.all(group.map(runOne));
    for (const result of settled) {
      results.push(result);
      await opts.onResult?.(result);
    }
  }
  return results;
}

/** The gates in runs: adjacent `parallel: true` gates together, every other gate alone. */
export function gateGroups(gates: readonly GateSpec[]): GateSpec[][] {
  const groups: GateSpec[][] = [];
  for (const gate of gates) {
    const last = groups.at(-1);
    if (gate.parallel && last?.[0]?.parallel) last.push(gate);
    else groups.push([gate]);
  }
  return groups;
}

/** Runs the layer's seeds as child workflows, side by side, and judges their mean and spread. */
async function runSeeds(input: GatesInput, gate: GateSpec): Promise<GateResult> {
  const seeds = input.layer.seeds;
  if (!seeds) {
    // The ladder loader refuses this; a hand-made LayerSpec could still get here.
    return {
      name: gate.name,
      type: gate.type,
      passed: false,
      value: null,
      threshold: gate.threshold ?? null,
      detail: `layer ${input.layer.name} declares no seeds`,
    };
  }
  const parentId = workflowInfo().workflowId;
  const settled = await Promise.allSettled(
    seeds.map((seed) =>
      executeChild(seedRun, {
        workflowId: seedRunWorkflowId(parentId, seed),
        args: [{ promotionId: input.promotionId, layer: input.layer, candidate: input.candidate, seed, gate }],
      }),
    ),
  );
  const runs: SeedRunResult[] = settled.map((s, i) =>
    s.status === 'fulfilled'
      ? s.value
      : { seed: seeds[i], value: null, detail: rootCause(s.reason) ?? String(s.reason) },
  );
  return seedsGateResult(gate, runs);
}

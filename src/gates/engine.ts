import type { GateSpec } from '../domain/ladder';
import type { GateResult } from '../domain/status';
import type { GateBase, GateCapabilities, GateNeed, MeasuredGate } from './types';

/**
 * How the caller (the runGate activity) obtains each capability for this environment, lazily:
 * only the ones the gate declared are asked for. `undefined` means the environment cannot give it.
 */
export type CapabilitySources = { [K in GateNeed]: () => GateCapabilities[K] | undefined };

/** Why a gate was not run, per capability the environment could not give. */
const UNAVAILABLE: Record<GateNeed, string> = {
  loadRuns: 'this worker has no place to store load runs',
  chaos: 'this environment has no fault-injection proxy (provider without chaos support)',
  drillReports: 'this worker has no drill reports folder',
  knownGood: "this environment's known-good release is unknown",
};

/**
 * Runs a measured gate with exactly the capabilities it declared (Kargo's RequiredCapabilities):
 * a gate cannot reach what it did not ask for, and a gate whose needs this environment cannot
 * meet fails unmeasured, saying which.
 */
export async function runMeasuredGate<Options extends Record<string, unknown>, Needs extends GateNeed>(
  gate: MeasuredGate<Options, Needs>,
  base: GateBase,
  spec: GateSpec,
  sources: CapabilitySources,
): Promise<GateResult> {
  const granted: Partial<GateCapabilities> = {};
  for (const need of gate.needs) {
    const value = sources[need]();
    if (value === undefined) {
      return {
        name: spec.name,
        type: spec.type,
        passed: false,
        value: null,
        threshold: spec.threshold ?? null,
        detail: UNAVAILABLE[need],
      };
    }
    (granted as Record<GateNeed, unknown>)[need] = value;
  }
  const ctx = { ...base, ...(granted as Pick<GateCapabilities, Needs>) };
  return gate.run(ctx, spec as GateSpec & { options: Options });
}

/** For callers that run only gates needing nothing beyond the base (a drill's verification). */
export const NO_CAPABILITIES: CapabilitySources = {
  loadRuns: () => undefined,
  chaos: () => undefined,
  drillReports: () => undefined,
  knownGood: () => undefined,
};

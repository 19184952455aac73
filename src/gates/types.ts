import type { CandidateRef, GateLayer, GateSpec } from '../domain/ladder';
import type { Release } from '../domain/release';
import type { GateResult } from '../domain/status';
import type { RunStore } from '../load/runs';
import type { GateConfig } from './config-types';

/** What every measured gate gets: the layer's environment as deployed, and the candidate in it. */
export interface GateBase {
  /** The layer, without its list of gates: a gate measures itself. */
  layer: GateLayer;
  candidate: CandidateRef;
  /** Absolute path of the environment's SQLite database. */
  dbPath: string;
  /** Base URL of the running candidate, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Called periodically by long gates so the activity heartbeats. */
  heartbeat: (detail?: unknown) => void;
  /** Aborted when the activity is cancelled; gates stop promptly. */
  signal: AbortSignal;
}

/** The environment's fault-injection handles. */
export interface ChaosHandles {
  /** Toxiproxy's API and the proxy between the candidate and its dependency. */
  proxyApiUrl: string;
  proxyName: string;
  /** SIGKILL the candidate's process. */
  killCandidate(): Promise<void>;
  /** Start the candidate again (what a supervisor does); resolves when healthy. */
  restartCandidate(): Promise<void>;
}

/**
 * Everything beyond the base a gate may ask for (Kargo's RequiredCapabilities). A gate declares
 * the keys it needs in `needs`; the engine (src/gates/engine.ts) hands it exactly those.
 */
export interface GateCapabilities {
  /** Where load runs are stored ($STRATA_HOME/runs), and this run's id: the same on every retry of the activity, so a retry replaces its run instead of adding one. */
  loadRuns: { runId: string; store: RunStore };
  /** Fault injection between the candidate and its dependency, and the candidate's process. */
  chaos: ChaosHandles;
  /** The folder of DR drill reports ($STRATA_HOME/drills). */
  drillReports: { dir: string };
  /** The environment's known-good release before this promotion (null: the first promotion). */
  knownGood: Release | null;
}

export type GateNeed = keyof GateCapabilities;
export const GATE_NEEDS: readonly GateNeed[] = ['loadRuns', 'chaos', 'drillReports', 'knownGood'];

/** What a gate's run() sees: the base, and only the capabilities it declared. */
export type GateContext<Needs extends GateNeed = never> = GateBase & Pick<GateCapabilities, Needs>;

/**
 * A gate measured by an activity: its config (name, schema, layer rules; light, in
 * `<gate>.config.ts`), what it needs, and its run function. One file per gate, like Kargo's
 * promotion steps.
 */
export interface MeasuredGate<
  Options extends Record<string, unknown>,
  Needs extends GateNeed = never,
> extends GateConfig<Options> {
  needs: readonly Needs[];
  run(ctx: GateContext<Needs>, spec: GateSpec & { options: Options }): Promise<GateResult>;
}

/**
 * A gate the workflow computes itself from what its children report (`seeds`). It has no run():
 * `workflows/gates.ts` holds its computation, and the runGate activity refuses it.
 */
export interface WorkflowComputedGate<Options extends Record<string, unknown>> extends GateConfig<Options> {
  computedByWorkflow: true;
}

export type GateDefinition<Options extends Record<string, unknown> = Record<string, unknown>> =
  MeasuredGate<Options, GateNeed> | WorkflowComputedGate<Options>;

export function isMeasured<Options extends Record<string, unknown>>(
  gate: GateDefinition<Options>,
): gate is MeasuredGate<Options, GateNeed> {
  return !gate.computedByWorkflow && 'run' in gate;
}

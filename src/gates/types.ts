import type { z } from 'zod';
import type { CandidateRef, GateSpec, LayerSpec } from '../domain/ladder';
import type { GateResult } from '../domain/status';

/** What a gate may look at: the layer's environment as deployed, and the candidate in it. */
export interface GateContext {
  layer: LayerSpec;
  candidate: CandidateRef;
  /** Absolute path of the environment's SQLite database. */
  dbPath: string;
  /** Base URL of the running candidate, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Called periodically by long gates so the activity heartbeats. */
  heartbeat: (detail?: unknown) => void;
  /** Aborted when the activity is cancelled; gates stop promptly. */
  signal: AbortSignal;
  /** $STRATA_HOME/drills, where DR drill reports are kept (for gates about drills). */
  drillsDir?: string;
  /** The environment's known-good version before this promotion (null: the first promotion). */
  knownGood?: string | null;
  /** $STRATA_HOME, where load runs are stored (runs/<id>). */
  home?: string;
  /** A run id that stays the same when the activity is retried (a retry replaces, never adds, a run). */
  runId?: string;
  /** The environment's fault-injection handles, for chaos gates. */
  chaos?: {
    /** Toxiproxy's API and the proxy between the candidate and its dependency. */
    proxyApiUrl: string;
    proxyName: string;
    /** SIGKILL the candidate's process. */
    killCandidate(): Promise<void>;
    /** Start the candidate again (what a supervisor does); resolves when healthy. */
    restartCandidate(): Promise<void>;
  };
}

/**
 * One gate type: its name, the zod schema of its `threshold` and `options` in ladder.yaml, and
 * its run function. Kept one file per gate, like Kargo's promotion steps.
 */
export interface GateDefinition<Options extends Record<string, unknown> = Record<string, unknown>> {
  type: string;
  description: string;
  /** Validates `{ threshold, options }` of a gate entry; defaults filled in. */
  config: z.ZodType<{ threshold?: number; options: Options }>;
  run(ctx: GateContext, spec: GateSpec & { options: Options }): Promise<GateResult>;
}

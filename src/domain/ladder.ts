import type { DrillObjective, DrillScenario } from './drill';
// The ladder and candidate as plain data. The config loader (src/config) produces these shapes
// after validation; workflows receive them as input. Pure types: no I/O, no clock.

/** One gate of a layer: a check with a threshold and a measured value. */
export interface GateSpec {
  /** Unique within the layer; defaults to the gate type. */
  name: string;
  /** A key of the gate registry (src/gates/registry.ts). */
  type: string;
  /** The bound the measured value is compared against; meaning depends on the gate type. */
  threshold?: number;
  /** Gate-specific options, validated by the gate's own schema. */
  options: Record<string, unknown>;
  /** Runs side by side with the adjacent gates that also say `parallel: true` (absent: in turn). */
  parallel?: true;
}

export type ApprovalPolicy =
  | { mode: 'auto' }
  | {
      mode: 'manual';
      /** Distinct approvals needed to promote. */
      required: number;
      /** Identities allowed to approve (already trimmed and case-folded). */
      approvers: string[];
      /** How long the layer waits for the quorum before it expires, e.g. "72h". */
      expiry: string;
      /**
       * When to remind the approvers, as time since the layer began awaiting approval, e.g.
       * ["4h", "20h"]; each before the escalation and the expiry. Absent: no reminders.
       */
      remind?: string[];
      /** Without a quorum after `after`, the approvers are widened to also admit `to`. */
      escalate?: ApprovalEscalation;
    };

/** The approval's escalation: who else may approve once it has waited `after`. */
export interface ApprovalEscalation {
  /** Time since the layer began awaiting approval, e.g. "24h"; before the expiry. */
  after: string;
  /** Identities or `group:<name>` entries admitted from then on (trimmed and case-folded). */
  to: string[];
}

/** What a failed layer does with its environment. */
export type RollbackPolicy = 'previous' | 'keep';

export interface SeedSpec {
  rows: number;
  seed: number;
}

/** How a data source may be used: generated, already masked, or real production data. */
export const DATA_CLASSIFICATIONS = ['synthetic', 'masked', 'production'] as const;
export type DataClassification = (typeof DATA_CLASSIFICATIONS)[number];

/** A data source declared in ladder.yaml's `data.sources`, paths made absolute by the loader. */
export interface DataSourceSpec {
  name: string;
  classification: DataClassification;
  /**
   * synthetic: a profile JSON written by `strata data profile` (rows are generated from it);
   * masked / production: a CSV file or an SQLite database whose rows are copied (masked) or
   * sanitized (production) into the environment.
   */
  file: string;
  /** The table to read from an SQLite dataset. */
  table?: string;
  /** Label rules for a synthetic source (see docs/data-synthesis.md), e.g. "is_fraud ~ logistic(…)". */
  labels?: string[];
  /**
   * synthetic: the approved real file (CSV or SQLite) the profile was made from; a sample of its
   * rows is held out in the steward's area and the synthetic rows are scored against it.
   */
  holdout?: string;
}

/** Thresholds on the scores only real rows give (see src/data/synth/fidelity.ts); unset ones take the defaults. */
export interface FidelityRowThresholds {
  columnShape?: number;
  detection?: number;
  mlEfficacy?: number;
}

/** Realism knobs of synthesis (0 = off; seasonality 1 = as profiled). */
export interface RealismKnobs {
  seasonality?: number;
  missingRate?: number;
  noise?: number;
  drift?: number;
}

/** A layer's `data:`: where its environment's rows come from and what they must satisfy. */
export interface DataSeedSpec {
  source: DataSourceSpec;
  /** Rows to generate (synthetic sources); file sources copy every row. */
  rows?: number;
  /** Seed of the synthesis (`fake` values take the masking policy's own seed). */
  seed: number;
  realism: RealismKnobs;
  /** A masking policy (absolute path) the rows go through on the way in; required for production sources. */
  policy?: string;
  /** The keyring for the policy's keyed ops (absolute path; the worker's STRATA_KEYRING wins). */
  keyring?: string;
  /** The table written in the environment's database. */
  table: string;
  /** Minimum overall fidelity of synthetic rows to their profile, or to held-out real rows (0..1). */
  fidelityThreshold: number;
  /** Thresholds of the scores measured against held-out real rows. */
  fidelityThresholds?: FidelityRowThresholds;
  /** PII findings tolerated in what the seed step writes (default 0). */
  piiAllowance: number;
}

export interface LayerSpec {
  name: string;
  seed: SeedSpec;
  /** The data plane's seed step; when absent the built-in example generator writes `seed.rows` rows. */
  data?: DataSeedSpec;
  /** Only a layer that declares it may read a production source, and only through a masking policy. */
  allowSanitizedProduction?: boolean;
  /** Evaluate the candidate on data generated with each of these seeds (child workflows), then gate on mean and spread. */
  seeds?: number[];
  gates: GateSpec[];
  approval: ApprovalPolicy;
  rollback: RollbackPolicy;
  /** Environment time-to-live, e.g. "7d": torn down after this long unused. */
  ttl?: string;
  /** When the layer is leased by another promotion or drill: wait in order (default) or fail at once. */
  lease?: 'wait' | 'fail-fast';
  /** How often the environment's database credentials are rotated, e.g. "24h". */
  credentialRotation?: string;
  /** Recovery objectives per DR drill scenario. */
  drills?: Partial<Record<DrillScenario, DrillObjective>>;
  /** Where the environment's database lives; absent: the local provider's SQLite file. */
  provider?: ProviderSpec;
}

/** A layer as one of its gates sees it: everything but the list of gates. */
export type GateLayer = Omit<LayerSpec, 'gates'>;

/**
 * The infrastructure a layer's environment runs on. `url` of a postgres provider is a reference,
 * never a secret: `env:NAME` (an environment variable of the worker) or `file:PATH` (a file on the
 * worker's machine) holding the admin connection URL, or a URL without a password. With
 * `fallback: local`, a worker whose variable is unset (or whose file is missing) gives the layer
 * the local provider instead of failing.
 */
export type ProviderSpec =
  { type: 'local' } | { type: 'postgres'; url: string; fallback?: 'local'; server?: PostgresServerSpec };

/**
 * How Strata controls the PostgreSQL server itself (`provider.server`): what the `server-killed`
 * drill needs to kill the postmaster and start it again. Paths are on the worker's machine.
 */
export interface PostgresServerSpec {
  /** The cluster's data directory (absolute): postmaster.pid and postmaster.opts are read there. */
  dataDir: string;
  /** pg_ctl (absolute); default: the one beside the postgres binary the server last ran (postmaster.opts), else STRATA_PG_BIN. */
  pgCtl?: string;
  /** The OS user that runs the server; default: the data directory's owner. A root worker runs pg_ctl as this user (runuser). */
  user?: string;
  /** Where `pg_ctl start` appends the server's output (absolute); default <dataDir>/strata-pg_ctl.log. */
  logFile?: string;
}

/** The layer's `provider.server`, when Strata may control its PostgreSQL server. */
export function postgresServerOf(layer: Pick<LayerSpec, 'provider'>): PostgresServerSpec | undefined {
  return layer.provider?.type === 'postgres' ? layer.provider.server : undefined;
}

export interface LadderSpec {
  name: string;
  layers: LayerSpec[];
}

export type FeatureType = 'number' | 'integer' | 'boolean' | 'string';

export interface FeatureSpec {
  type: FeatureType;
  /** Optional inclusive bounds for numeric features. */
  min?: number;
  max?: number;
  /** Allowed values for string features. */
  enum?: string[];
  /** Whether the candidate needs the column (default true). */
  required: boolean;
  nullable: boolean;
}

export interface InputSchema {
  /** Table the candidate reads from the environment's database. */
  table: string;
  /** Name of the label column used to evaluate quality. */
  label: string;
  /** Column identifying a record, sent with each record (for feature lookups by the candidate). */
  key?: string;
  features: Record<string, FeatureSpec>;
}

/** A candidate as loaded from candidate.yaml, with its digest computed from that file and the artifact files. */
export interface CandidateRef {
  name: string;
  version: string;
  /**
   * sha256 (hex) of the canonical manifest over candidate.yaml and the artifact files; computed,
   * never read from the manifest. It names the candidate's entry in the artifact store.
   */
  digest: string;
  /**
   * Absolute path of the candidate directory on the machine that promoted it. Workers never read
   * it: they deploy from the artifact store entry the digest names.
   */
  dir: string;
  /** Shell-free argv that serves the candidate, e.g. ["node", "server.js"]. */
  serve: string[];
  /** Relative paths of the artifact files, in manifest order. */
  artifacts: string[];
  /**
   * Absolute paths of the artifacts not read from `dir` (a module several candidates share), by
   * their path in `artifacts`. Absent when every artifact is in `dir`.
   */
  artifactSources?: Record<string, string>;
  input: InputSchema;
}

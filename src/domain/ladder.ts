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
    };

/** What a failed layer does with its environment. */
export type RollbackPolicy = 'previous' | 'keep';

export interface SeedSpec {
  rows: number;
  seed: number;
}

export interface LayerSpec {
  name: string;
  seed: SeedSpec;
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

/** A candidate as loaded from candidate.yaml, with its digest computed from the artifact files. */
export interface CandidateRef {
  name: string;
  version: string;
  /** sha256 over the artifact files (hex), computed, never read from the manifest. */
  digest: string;
  /** Absolute path of the candidate directory. */
  dir: string;
  /** Shell-free argv that serves the candidate, e.g. ["node", "server.js"]. */
  serve: string[];
  /** Relative paths of the artifact files, in manifest order. */
  artifacts: string[];
  input: InputSchema;
}

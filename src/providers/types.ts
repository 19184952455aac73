import type { CandidateRef, SeedSpec } from '../domain/ladder';

/** A version deployed into an environment, copied into the environment so it can run again later. */
export interface Release {
  name: string;
  version: string;
  digest: string;
  /** Directory holding the release's copy of the artifacts. */
  dir: string;
  serve: string[];
}

export interface EnvironmentInfo {
  layer: string;
  dir: string;
  dbPath: string;
  /** The release promoted in this environment, i.e. the known-good version (null if none yet). */
  promoted: Release | null;
  /** The release whose process serves now (null if none). */
  running: Release | null;
  url: string | null;
  pid: number | null;
}

/**
 * The only code that talks to infrastructure. Every method is idempotent: calling it again with
 * the same arguments after a crash or a retry does not create a second environment, dataset or
 * process.
 */
export interface Provider {
  readonly kind: string;
  provision(layer: string, opts: { promotionId: string; ttl?: string }): Promise<EnvironmentInfo>;
  seed(layer: string, spec: SeedSpec): Promise<{ dbPath: string; rows: number; created: boolean }>;
  deploy(layer: string, candidate: CandidateRef): Promise<{ env: EnvironmentInfo; changed: boolean }>;
  health(layer: string): Promise<{ healthy: boolean; detail: string }>;
  /** SIGKILLs the candidate's process (chaos); restart() brings it back. */
  killCandidate?(layer: string): Promise<void>;
  /** Stops and starts the running release (after a restore, or when its process died). */
  restart(layer: string): Promise<EnvironmentInfo>;
  /** Marks the running release as the environment's known-good version. */
  markPromoted(layer: string, digest: string): Promise<EnvironmentInfo>;
  /** Redeploys `to` (or stops the candidate when null). */
  rollback(layer: string, to: Release | null): Promise<EnvironmentInfo>;
  teardown(layer: string): Promise<void>;
  /** Replaces the environment's database credentials; returns when they were rotated. */
  rotateCredentials(layer: string): Promise<{ rotatedAt: string }>;
  describe(layer: string): Promise<EnvironmentInfo | null>;
  /** Starts the environment's dependency (feature lookup behind its fault proxy) if it is not running. */
  ensureDependency?(layer: string): Promise<{ featuresUrl: string; proxyApiUrl: string; started: string[] }>;
  /** The dependency's addresses, when it runs. */
  dependency?(layer: string): { featuresUrl: string; proxyApiUrl: string; featurePid: number } | null;
  /** Every release deployed in the environment, oldest first. */
  releases(layer: string): Promise<Release[]>;
  /** The last known-good release other than the running one (null if none). */
  lastKnownGood(layer: string): Promise<Release | null>;
}

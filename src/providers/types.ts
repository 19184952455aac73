import type { CandidateRef, ProviderSpec, SeedSpec } from '../domain/ladder';
import type { Release } from '../domain/release';

export interface EnvironmentInfo {
  layer: string;
  dir: string;
  dbPath: string;
  /** The release last promoted in this environment: its known-good version (null if none yet). */
  knownGood: Release | null;
  /** The version whose process serves now (null if none). */
  running: string | null;
  /** The release behind `running`: its digest, directory and command (null if none). */
  runningRelease: Release | null;
  url: string | null;
  pid: number | null;
  /** A postgres environment's database, as a URL without its password. */
  database?: string;
}

/**
 * The database a drill breaks and restores when it is not the environment's SQLite file: a
 * postgres environment's. Holds passwords: for activities' own use, never returned to a workflow,
 * logged or put in a report.
 */
export interface DrillDatabase {
  kind: 'postgres';
  /** The admin role's URL (does the damage, pg_dump and pg_restore). */
  adminUrl: string;
  /** The environment's database name. */
  database: string;
  /** The environment's own login (as the candidate connects): the drill's writer and checks use it. */
  url: string;
}

/**
 * The only code that talks to infrastructure. Every method is idempotent: calling it again with
 * the same arguments after a crash or a retry does not create a second environment, dataset or
 * process.
 */
export interface Provider {
  readonly kind: string;
  /** `provider` is the layer's `provider:` (a postgres one gives the environment its own database and roles). */
  provision(
    layer: string,
    opts: { promotionId: string; ttl?: string; provider?: ProviderSpec },
  ): Promise<EnvironmentInfo>;
  /** Fills the environment's database with the built-in generator (`spec.seed` is the random seed). */
  populate(layer: string, spec: SeedSpec): Promise<{ dbPath: string; rows: number; created: boolean }>;
  deploy(layer: string, candidate: CandidateRef): Promise<{ env: EnvironmentInfo; changed: boolean }>;
  health(layer: string): Promise<{ healthy: boolean; detail: string }>;
  /**
   * SIGKILLs the candidate's process (a chaos fault, the process-killed drill) and waits until it
   * is gone; restart() brings it back. Null when no candidate process was running.
   */
  killCandidate?(layer: string): Promise<{ pid: number } | null>;
  /**
   * SIGKILLs the environment's dependency (the dependency-down drill) and waits until it is gone;
   * ensureDependency() brings it back. Null when it was not running.
   */
  killDependency?(layer: string): Promise<{ pid: number } | null>;
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
  /**
   * Copies the environment's populated rows into its own database when it has one besides the
   * SQLite file (a postgres environment); null when it has none.
   */
  syncDatabase?(layer: string): Promise<{ tables: Record<string, number>; copied: boolean } | null>;
  /** The environment's PostgreSQL database for a drill; null when its SQLite file is its database. */
  databaseOf?(layer: string): DrillDatabase | null;
  /** Starts the environment's dependency (feature lookup behind its fault proxy) if it is not running. */
  ensureDependency?(layer: string): Promise<{ featuresUrl: string; proxyApiUrl: string; started: string[] }>;
  /** The dependency's addresses, when it runs. */
  dependency?(layer: string): { featuresUrl: string; proxyApiUrl: string } | null;
  /** Every release deployed in the environment, oldest first. */
  releases(layer: string): Promise<Release[]>;
  /**
   * The known-good release the layer falls back to now: the last one promoted there other than
   * the running one (null if none). What a rollback without a named version returns to.
   */
  knownGood(layer: string): Promise<Release | null>;
}

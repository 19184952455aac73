// Disaster-recovery drills: scenarios, objectives and the verdict. Pure: times come in as data.

export const DRILL_SCENARIOS = [
  'process-killed',
  'rows-corrupted',
  'table-dropped',
  'database-removed',
  'dependency-down',
  'server-killed',
] as const;
export type DrillScenario = (typeof DRILL_SCENARIOS)[number];

/** The scenarios whose recovery restores the backup (the others restart what was killed). */
export function restoresBackup(scenario: DrillScenario): boolean {
  return scenario === 'rows-corrupted' || scenario === 'table-dropped' || scenario === 'database-removed';
}

/** The field a layer needs for `server-killed`: Strata must be able to start its server again. */
export const SERVER_FIELD = 'provider.server';

/**
 * Why `scenario` can never be drilled on a layer with this `provider:` (undefined when it can):
 * `server-killed` kills the PostgreSQL server, so the layer must say how to start it again.
 */
export function scenarioConfigProblem(
  scenario: DrillScenario,
  provider: { type: string; server?: unknown } | undefined,
): string | undefined {
  if (scenario !== 'server-killed' || (provider?.type === 'postgres' && provider.server)) return undefined;
  return (
    `scenario server-killed kills the layer's PostgreSQL server and starts it again, so the layer must say how: ` +
    `add \`${SERVER_FIELD}: { dataDir: /path/to/data }\` to a \`provider: { type: postgres, … }\``
  );
}

/** Recovery objectives for one scenario, from ladder.yaml (durations as strings, e.g. "60s"). */
export interface DrillObjective {
  /** Recovery time objective: injection → healthy and verified. */
  rto: string;
  /** Recovery point objective: the window of acknowledged writes that may be lost. */
  rpo: string;
}

export interface DrillTimeline {
  startedAt: string;
  steadyStateAt: string;
  backupAt: string;
  injectedAt: string;
  detectedAt: string;
  recoveredAt: string;
  verifiedAt: string;
}

export interface DrillMeasurement {
  /** ms from injection to healthy and verified. */
  rtoMs: number;
  /** ms of acknowledged writes lost: last acknowledged write before injection − last write present after recovery (0 when none lost). */
  rpoMs: number;
  /** Acknowledged writes missing after recovery. */
  writesLost: number;
}

export interface DrillVerdict {
  rto: { objectiveMs: number; measuredMs: number; met: boolean };
  rpo: { objectiveMs: number; measuredMs: number; met: boolean };
  met: boolean;
}

export function judgeDrill(objective: { rtoMs: number; rpoMs: number }, measured: DrillMeasurement): DrillVerdict {
  const rto = { objectiveMs: objective.rtoMs, measuredMs: measured.rtoMs, met: measured.rtoMs <= objective.rtoMs };
  const rpo = { objectiveMs: objective.rpoMs, measuredMs: measured.rpoMs, met: measured.rpoMs <= objective.rpoMs };
  return { rto, rpo, met: rto.met && rpo.met };
}

// ---------------------------------------------------------------------------------------------
// Evidence and the report. Plain data shapes shared by the drill library (src/drills/), the drill
// workflow and the CLI; src/drills/ produces them, renderDrillReport prints them.

/** One acknowledged write of the drill's writer process (from its acknowledgement log). */
export interface DrillWriteAck {
  seq: number;
  /** ISO time the commit was acknowledged. */
  at: string;
}

/** Row count and content checksum of one table (sha256 over its rows in rowid order). */
export interface TableFingerprint {
  rows: number;
  checksum: string;
}

export type TableFingerprints = Record<string, TableFingerprint>;

/** What the drill's writer did, from its acknowledgement log. */
export interface DrillWriterSummary {
  acknowledged: number;
  lastSeq: number | null;
  lastAt: string | null;
  /** Failed write attempts (database missing, table dropped, locked…); the writer kept going. */
  errors: number;
}

/** The backup a drill recovered from. */
export interface DrillBackupSummary {
  file: string;
  /** ISO time the backup's consistent copy was taken. */
  at: string;
  bytes: number;
  tables: TableFingerprints;
  /** Highest drill_writes.seq in the backup, null when the backup holds no drill writes. */
  lastWriteSeq: number | null;
}

/** The comparison of the recovered database with the pre-fault snapshot and the writer's log. */
export interface DrillVerification {
  ok: boolean;
  problems: string[];
  /** Acknowledged writes (acknowledged at or before the injection) missing after recovery. */
  writesLost: number;
  /** Acknowledged writes made after the injection and missing after recovery (not part of the RPO). */
  writesLostAfterInjection: number;
  rpoMs: number;
  lastAckBeforeInjection: DrillWriteAck | null;
  /** The last write acknowledged before the injection that is still present after recovery. */
  lastPresentAfterRecovery: DrillWriteAck | null;
  /** Tables compared with the snapshot. */
  tablesChecked: string[];
}

export interface DrillEvidence {
  /** What the steady-state check saw before the drill started (empty: healthy). */
  steadyState: string[];
  injection: { detail: string };
  /** Problems the health probes saw when they detected the fault. */
  detected: string[];
  /** Runbook steps taken to recover, in order (e.g. "restored backup-….db (12.1 MB in 41 ms)"). */
  recovery: string[];
  verification: DrillVerification;
  writer: DrillWriterSummary;
}

export interface DrillReport {
  /** The drill's id (its workflow id). */
  id: string;
  layer: string;
  scenario: DrillScenario;
  /** The objective as configured, plus the same in ms. */
  objective: DrillObjective & { rtoMs: number; rpoMs: number };
  timeline: DrillTimeline;
  measurement: DrillMeasurement;
  verdict: DrillVerdict;
  backup: DrillBackupSummary;
  evidence: DrillEvidence;
  /** The version running in the environment during the drill, when known. */
  candidate?: { name: string; version: string; digest?: string };
}

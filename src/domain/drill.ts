// Disaster-recovery drills: scenarios, objectives and the verdict. Pure: times come in as data.

export const DRILL_SCENARIOS = ['process-killed', 'rows-corrupted', 'table-dropped', 'database-removed', 'dependency-down'] as const;
export type DrillScenario = (typeof DRILL_SCENARIOS)[number];

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

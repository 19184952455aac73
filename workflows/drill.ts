import {
  ApplicationFailure,
  patched,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DrillPrepared } from '../activities/drills';
import {
  type DrillReport,
  type DrillScenario,
  judgeDrill,
  SERVER_FIELD,
  scenarioConfigProblem,
} from '../src/domain/drill';
import { parseDuration } from '../src/domain/duration';
import { type LayerSpec, type PostgresServerSpec, postgresServerOf } from '../src/domain/ladder';
import { environmentLease } from './lease';
import { pinLayer, type StoredLadderRef } from './ladder-pin';
import { LAYER_KEY, PHASE_KEY } from './search-attributes';

const activities = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
});

export interface DrillInput {
  /** The layer to drill; since `server-side-ladder` only its name counts, read from `ladder`. */
  layer: LayerSpec;
  /** The stored ladder the layer's objectives come from (drills since `server-side-ladder`). */
  ladder?: StoredLadderRef;
  scenario: DrillScenario;
  /** rows-corrupted: share of rows to corrupt, percent. */
  percent?: number;
  requestedBy: string;
}

export type DrillResult = DrillReport & { files: { jsonFile: string; markdownFile: string } };

/**
 * Since this patch a server-killed drill is refused before the lease when the layer has no
 * `provider.server`, and hands that section to the steps that kill and start the server.
 */
export const SERVER_KILLED_PATCH = 'drill-server-killed';

/**
 * A disaster-recovery drill on one layer, under its lease: steady state → backup (while a writer
 * keeps writing) → inject the fault → detect it → recover by the runbook (restore, restart) →
 * verify (data against the pre-fault snapshot, lost writes, a gate) → report RTO and RPO against
 * the layer's objectives for the scenario.
 */
export async function drill(requested: DrillInput): Promise<DrillResult> {
  // Objectives and lease policy come from the stored ladder: a client cannot drill with lax ones.
  const input: DrillInput = { ...requested, layer: await pinLayer(requested.ladder, requested.layer) };
  const id = workflowInfo().workflowId;
  const objective = input.layer.drills?.[input.scenario];
  if (!objective) {
    throw ApplicationFailure.nonRetryable(
      `layer ${input.layer.name} declares no objective for scenario ${input.scenario}`,
      'NoObjective',
    );
  }
  let server: PostgresServerSpec | undefined;
  if (input.scenario === 'server-killed' && patched(SERVER_KILLED_PATCH)) {
    const problem = scenarioConfigProblem(input.scenario, input.layer.provider);
    if (problem)
      throw ApplicationFailure.nonRetryable(
        `layer ${input.layer.name}: ${SERVER_FIELD}: ${problem}`,
        'NoServerControl',
      );
    server = postgresServerOf(input.layer);
  }
  const rtoMs = parseDuration(objective.rto) ?? 0;
  const rpoMs = parseDuration(objective.rpo) ?? 0;
  upsertSearchAttributes([
    { key: LAYER_KEY, value: input.layer.name },
    { key: PHASE_KEY, value: 'running' },
  ]);

  const startedAt = new Date().toISOString();
  const lease = environmentLease(input.layer, id);
  const answer = await lease.acquire('drill', false);
  if (!answer.granted) throw ApplicationFailure.nonRetryable(`no lease: ${answer.reason}`, 'NoLease');

  let prepared: DrillPrepared | undefined;
  let writerRunning = false;
  try {
    prepared = await activities.drillPrepare({ drillId: id, layer: input.layer.name });
    writerRunning = true;
    const prep = prepared;
    const injected = await activities.drillInject({
      drillId: id,
      layer: input.layer.name,
      scenario: input.scenario,
      percent: input.percent,
      ...(server ? { server } : {}),
    });
    const detected = await activities.drillDetect({
      drillId: id,
      layer: input.layer.name,
      snapshot: prepared.snapshot,
      timeoutMs: 30_000,
    });
    const recovered = await activities.drillRecover({
      drillId: id,
      layer: input.layer.name,
      scenario: input.scenario,
      backupFile: prepared.backup.file,
      ...(server ? { server } : {}),
    });
    const verified = await activities.drillVerify({
      drillId: id,
      layer: input.layer,
      snapshot: prepared.snapshot,
      backup: prepared.backup,
      writerLog: prepared.writerLog,
      injectedAt: injected.injectedAt,
    });
    const writer = await activities.drillStopWriter({ writerPid: prepared.writerPid, writerLog: prepared.writerLog });
    writerRunning = false;

    const measurement = {
      rtoMs: Date.parse(verified.verifiedAt) - Date.parse(injected.injectedAt),
      rpoMs: verified.verification.rpoMs,
      writesLost: verified.verification.writesLost,
    };
    const judged = judgeDrill({ rtoMs, rpoMs }, measurement);
    // A recovery that did not verify has not met anything, whatever the clock says.
    const verdict = { ...judged, met: judged.met && verified.verification.ok };
    const report: DrillReport = {
      id,
      layer: input.layer.name,
      scenario: input.scenario,
      objective: { ...objective, rtoMs, rpoMs },
      timeline: {
        startedAt,
        steadyStateAt: prep.steadyStateAt,
        backupAt: prep.backupAt,
        injectedAt: injected.injectedAt,
        detectedAt: detected.detectedAt,
        recoveredAt: recovered.recoveredAt,
        verifiedAt: verified.verifiedAt,
      },
      measurement,
      verdict,
      backup: prep.backup,
      evidence: {
        steadyState: prep.steadyState,
        injection: { detail: injected.detail },
        detected: detected.problems,
        recovery: recovered.steps,
        verification: verified.verification,
        writer,
      },
      ...(prep.candidate ? { candidate: prep.candidate } : {}),
    };
    const files = await activities.drillSaveReport({ report });
    upsertSearchAttributes([{ key: PHASE_KEY, value: verdict.met ? 'met' : 'breached' }]);
    return { ...report, files };
  } catch (err) {
    upsertSearchAttributes([{ key: PHASE_KEY, value: 'failed' }]);
    throw err;
  } finally {
    if (prepared && writerRunning)
      await activities.drillStopWriter({ writerPid: prepared.writerPid, writerLog: prepared.writerLog });
    await lease.release();
  }
}

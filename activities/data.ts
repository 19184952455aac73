// Filling the layer's environment with data: the built-in generator, or the data plane (policy,
// approval, synthesis or sanitization, fidelity, PII scan; src/data/populate.ts).

import { createHash } from 'node:crypto';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { PiiSourceError } from '../src/data/pii/scan';
import {
  commitPopulation,
  discardPopulation,
  PopulationRefused,
  type PopulationReport,
  type PreparedPopulation,
} from '../src/data/populate';
import { acquirePopulateLock, PopulationBusy } from '../src/data/populate-lock';
import { PopulationCancelled, runPopulationInThread, type ThreadProgress } from '../src/data/populate-runner';
import type { LayerSpec } from '../src/domain/ladder';
import type { DataSummary } from '../src/domain/data';
import { ConfigError } from '../src/validation/errors';
import { type ActivityDeps, mustDescribe, variantDbPath, withHeartbeat } from './support';

export interface PopulationResult {
  rows: number;
  created: boolean;
  dbPath: string;
  /** Data-plane layers: the source, the policy decision, fidelity and the PII scan (no values). */
  data?: DataSummary;
}

export function createDataActivities({ provider, paths, client }: ActivityDeps) {
  /**
   * The data plane for one database, off the event loop: one attempt at a time (the populate
   * lock), rows into a staging file named by this attempt, generated in a worker thread while this
   * activity heartbeats the step and the rows done. An abort terminates the thread. An attempt
   * whose layer has ended, or which is no longer the activity's current attempt, writes nothing.
   */
  async function populateInThread(layer: LayerSpec, dbPath: string, seed?: number): Promise<PopulationReport> {
    const ctx = Context.current();
    const { workflowExecution, activityId, attempt } = ctx.info;
    const who = `${workflowExecution?.workflowId ?? 'activity'}/${activityId}#${attempt}`;
    const tag = `${createHash('sha256').update(who).digest('hex').slice(0, 12)}-a${attempt}`;
    let lock: { release(): void };
    try {
      lock = acquirePopulateLock(dbPath, who);
    } catch (err) {
      if (err instanceof PopulationBusy) throw ApplicationFailure.retryable(err.message, 'PopulationBusy');
      throw err;
    }
    const progress: ThreadProgress = { step: 'starting', rows: 0 };
    const beat = () => ctx.heartbeat({ step: progress.step, rows: progress.rows });
    const timer = setInterval(beat, 1000);
    try {
      beat();
      let prepared: PreparedPopulation;
      try {
        prepared = await dataPlane(() =>
          runPopulationInThread(
            {
              home: paths.home,
              layer,
              dbPath,
              ...(seed === undefined ? {} : { seed }),
              staging: `${dbPath}.${tag}.seeding.db`,
            },
            {
              signal: ctx.cancellationSignal,
              progress: (p) => {
                if (p.step !== undefined) progress.step = p.step;
                if (p.rows !== undefined) progress.rows = p.rows;
              },
            },
          ),
        );
      } catch (err) {
        if (err instanceof PopulationCancelled) throw new CancelledFailure(err.message);
        throw err;
      }
      if (!prepared.staging) return prepared.report;
      const ended = ctx.cancellationSignal.aborted
        ? 'the activity was cancelled'
        : await attemptEnded(client, ctx.info);
      if (ended) {
        discardPopulation(prepared);
        throw ApplicationFailure.nonRetryable(
          `population of layer "${layer.name}" not put in place: ${ended}`,
          'LayerEnded',
        );
      }
      return commitPopulation(prepared, dbPath);
    } finally {
      clearInterval(timer);
      lock.release();
    }
  }

  /**
   * Populates the environment: with the built-in generator, or — for a layer with `data:` —
   * through the data plane. A refusal is a non-retryable failure whose message names the rule and
   * the layer.
   */
  async function populateEnvironment(input: { layer: LayerSpec }): Promise<PopulationResult> {
    if (!input.layer.data) return withHeartbeat(() => provider.populate(input.layer.name, input.layer.seed));
    const env = await withHeartbeat(() => mustDescribe(provider, input.layer.name));
    const report = await populateInThread(input.layer, env.dbPath);
    // A postgres environment's database gets the same rows, after the same checks: only the sink differs.
    await withHeartbeat(async () => provider.syncDatabase?.(input.layer.name));
    return { rows: report.rows, created: report.created, dbPath: env.dbPath, data: dataSummary(report) };
  }

  return {
    populateEnvironment,
    /**
     * The same activity under its earlier name: layer workflows that scheduled it before the
     * rename (the `populate-environment` patch) still find it when they replay or resume.
     */
    seedEnvironment: populateEnvironment,

    /** One seed of a many-seeds layer: its own database under envs/<layer>/seeds/<seed>/ (same checks as populating). */
    async seedVariant(input: { layer: LayerSpec; seed: number }): Promise<Required<PopulationResult>> {
      const env = await withHeartbeat(() => mustDescribe(provider, input.layer.name));
      const dbPath = variantDbPath(env, input.seed);
      const report = await populateInThread(input.layer, dbPath, input.seed);
      return { rows: report.rows, created: report.created, dbPath, data: dataSummary(report) };
    },
  };
}

/** What status and audit show of a population report (no values: counts, scores, names). */
function dataSummary(report: PopulationReport): DataSummary {
  const summary: DataSummary = {
    source: report.source.name,
    classification: report.source.classification,
    policy: { allowed: report.policy.allowed, rule: report.policy.rule },
    table: report.table,
    rows: report.rows,
    seed: report.seed,
    created: report.created,
  };
  if (report.source.digest) summary.digest = report.source.digest;
  if (report.source.approvedBy) summary.approvedBy = report.source.approvedBy;
  if (report.masking) summary.masking = report.masking.file;
  if (report.fidelity)
    summary.fidelity = {
      overall: report.fidelity.overall,
      threshold: report.fidelity.threshold,
      passed: report.fidelity.passed,
    };
  if (report.pii)
    summary.pii = { total: report.pii.total, allowance: report.pii.allowance, findings: report.pii.findings };
  return summary;
}

/**
 * Runs a data-plane step, turning its refusals and input errors into non-retryable failures:
 * retrying cannot approve a dataset, mask a column or fix a file. The refusal's summary travels
 * in the failure's details, so the audit trail has the decision.
 */
async function dataPlane<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof PopulationRefused)
      throw ApplicationFailure.nonRetryable(err.message, err.kind, { ...dataSummary(err.report), refused: err.kind });
    if (err instanceof ConfigError || err instanceof PiiSourceError)
      throw ApplicationFailure.nonRetryable(err.message, 'DataInputError');
    throw err;
  }
}

/**
 * Why this attempt may no longer put its data in place, or undefined when it may: its workflow
 * (the layer, or one seed's run) has closed, or the server no longer has this attempt of the
 * activity pending (it timed out and a newer attempt runs, or the workflow moved on).
 */
async function attemptEnded(client: Client | undefined, info: Context['info']): Promise<string | undefined> {
  if (!client || !info.workflowExecution) return undefined;
  const { workflowId, runId } = info.workflowExecution;
  let described;
  try {
    described = await client.workflow.getHandle(workflowId, runId).describe();
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return `workflow ${workflowId} no longer exists`;
    throw err;
  }
  if (described.status.name !== 'RUNNING') return `workflow ${workflowId} has ${described.status.name.toLowerCase()}`;
  const pending = (described.raw.pendingActivities ?? []).find((a) => a.activityId === info.activityId);
  if (!pending) return `activity ${info.activityId} is no longer pending`;
  if (pending.attempt && pending.attempt !== info.attempt)
    return `attempt ${info.attempt} was superseded by attempt ${pending.attempt}`;
  return undefined;
}

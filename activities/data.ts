// Filling the layer's environment with data: the built-in generator, or the data plane (policy,
// approval, synthesis or sanitization, fidelity, PII scan; src/data/populate.ts).

import { ApplicationFailure, Context } from '@temporalio/activity';
import { PiiSourceError } from '../src/data/pii/scan';
import { populateFromSource, PopulationRefused, type PopulationReport } from '../src/data/populate';
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

export function createDataActivities({ provider, paths }: ActivityDeps) {
  /**
   * Populates the environment: with the built-in generator, or — for a layer with `data:` —
   * through the data plane. A refusal is a non-retryable failure whose message names the rule and
   * the layer.
   */
  async function populateEnvironment(input: { layer: LayerSpec }): Promise<PopulationResult> {
    if (!input.layer.data) return withHeartbeat(() => provider.populate(input.layer.name, input.layer.seed));
    return withHeartbeat(async () => {
      const env = await mustDescribe(provider, input.layer.name);
      const ctx = Context.current();
      const report = await dataPlane(() =>
        populateFromSource({
          home: paths.home,
          layer: input.layer,
          dbPath: env.dbPath,
          progress: (step) => ctx.heartbeat(step),
        }),
      );
      return { rows: report.rows, created: report.created, dbPath: env.dbPath, data: dataSummary(report) };
    });
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
      return withHeartbeat(async () => {
        const env = await mustDescribe(provider, input.layer.name);
        const dbPath = variantDbPath(env, input.seed);
        const ctx = Context.current();
        const report = await dataPlane(() =>
          populateFromSource({
            home: paths.home,
            layer: input.layer,
            dbPath,
            seed: input.seed,
            progress: (step) => ctx.heartbeat(step),
          }),
        );
        return { rows: report.rows, created: report.created, dbPath, data: dataSummary(report) };
      });
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
async function dataPlane(step: () => Promise<PopulationReport>): Promise<PopulationReport> {
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

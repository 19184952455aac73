import path from 'node:path';
import { Context, ApplicationFailure } from '@temporalio/activity';
import { FEATURES_PROXY } from '../src/providers/dependency';
import { stableRunId } from '../src/load/runs';
import type { Client } from '@temporalio/client';
import { loadCandidate } from '../src/config/candidate';
import { createDrillActivities } from './drills';
import { environmentWorkflowId, type LeaseRequest } from '../src/domain/environment';
import { leaseRequestSignal } from '../workflows/environment-messages';
import type { CandidateRef, GateSpec, LayerSpec } from '../src/domain/ladder';
import type { SeedRunResult } from '../src/domain/seeds';
import type { DataSummary, GateResult } from '../src/domain/status';
import { ConfigError } from '../src/validation/errors';
import { seedFromSource, SeedRefused, type SeedReport } from '../src/data/seed';
import { PiiSourceError } from '../src/data/pii/scan';
import { qualityGate } from '../src/gates/quality';
import { gateRegistry } from '../src/gates/registry';
import type { EnvironmentInfo, Provider, Release } from '../src/providers/types';

export interface ActivityDeps {
  provider: Provider;
  /** Lets activities reach other workflows (the environment entity's signal-with-start). */
  client?: Client;
  /** Where drill folders go ($STRATA_HOME/drills). */
  drillsDir: string;
}

/** Heartbeats every second while `work` runs, so a killed worker is noticed within the heartbeat timeout. */
async function withHeartbeat<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), 1000);
  try {
    ctx.heartbeat();
    return await work(ctx.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

export interface ProvisionResult {
  dir: string;
  /** The environment's known-good release before this promotion: what a rollback restores. */
  previous: Release | null;
  running: string | null;
}

/**
 * Activities are thin: they validate what they are given, call the provider or a gate, and
 * heartbeat. Every one is idempotent (the provider's methods are).
 */
export function createActivities(deps: ActivityDeps) {
  const { provider, client } = deps;
  /** $STRATA_HOME: the approval registry, load runs. */
  const home = path.dirname(deps.drillsDir);

  return {
    ...createDrillActivities({ provider, drillsDir: deps.drillsDir }),

    async provisionEnvironment(input: { promotionId: string; layer: LayerSpec }): Promise<ProvisionResult> {
      return withHeartbeat(async () => {
        const env = await provider.provision(input.layer.name, {
          promotionId: input.promotionId,
          ttl: input.layer.ttl,
        });
        return { dir: env.dir, previous: env.promoted, running: env.running?.version ?? null };
      });
    },

    /**
     * Seeds the environment: with the built-in generator, or — for a layer with `data:` — through the
     * data plane (policy, approval, synthesis or sanitization, fidelity, PII scan; src/data/seed.ts).
     * A refusal is a non-retryable failure whose message names the rule and the layer.
     */
    async seedEnvironment(input: {
      layer: LayerSpec;
    }): Promise<{ rows: number; created: boolean; dbPath: string; data?: DataSummary }> {
      if (!input.layer.data) return withHeartbeat(() => provider.seed(input.layer.name, input.layer.seed));
      return withHeartbeat(async () => {
        const env = await mustDescribe(provider, input.layer.name);
        const ctx = Context.current();
        const report = await dataPlane(() =>
          seedFromSource({ home, layer: input.layer, dbPath: env.dbPath, progress: (step) => ctx.heartbeat(step) }),
        );
        return { rows: report.rows, created: report.created, dbPath: env.dbPath, data: dataSummary(report) };
      });
    },

    /** One seed of a many-seeds layer: its own database under envs/<layer>/seeds/<seed>/ (same checks as the seed step). */
    async seedVariant(input: {
      layer: LayerSpec;
      seed: number;
    }): Promise<{ rows: number; created: boolean; dbPath: string; data: DataSummary }> {
      return withHeartbeat(async () => {
        const env = await mustDescribe(provider, input.layer.name);
        const dbPath = variantDbPath(env.dir, input.seed);
        const ctx = Context.current();
        const report = await dataPlane(() =>
          seedFromSource({
            home,
            layer: input.layer,
            dbPath,
            seed: input.seed,
            progress: (step) => ctx.heartbeat(step),
          }),
        );
        return { rows: report.rows, created: report.created, dbPath, data: dataSummary(report) };
      });
    },

    /** The candidate's metric on one seed's data (the `seeds` gate's options: metric, cutoff, limit). */
    async evaluateSeed(input: {
      layer: LayerSpec;
      candidate: CandidateRef;
      seed: number;
      gate: GateSpec;
    }): Promise<SeedRunResult> {
      return withHeartbeat(async (signal) => {
        const env = await mustDescribe(provider, input.layer.name);
        const dbPath = variantDbPath(env.dir, input.seed);
        if (!env.url)
          return { seed: input.seed, value: null, detail: `no candidate is running in ${input.layer.name}` };
        const ctx = Context.current();
        const { metric, cutoff, limit } = input.gate.options as {
          metric?: 'auc' | 'accuracy';
          cutoff?: number;
          limit?: number;
        };
        const result = await qualityGate.run(
          {
            layer: input.layer,
            candidate: input.candidate,
            dbPath,
            url: env.url,
            heartbeat: (d?: unknown) => ctx.heartbeat(d),
            signal,
          },
          {
            name: `${input.gate.name}-seed-${input.seed}`,
            type: 'quality',
            threshold: input.gate.threshold ?? 0,
            options: { metric: metric ?? 'auc', cutoff: cutoff ?? 0.5, batchSize: 500, limit },
          },
        );
        return { seed: input.seed, value: result.value, detail: result.detail };
      });
    },

    async deployCandidate(input: { layer: LayerSpec; candidate: CandidateRef }): Promise<{
      url: string;
      running: string;
      changed: boolean;
    }> {
      return withHeartbeat(async () => {
        const { env, changed } = await provider.deploy(input.layer.name, input.candidate);
        if (!env.url || !env.running) throw new Error(`deploy of ${input.candidate.version} left nothing running`);
        return { url: env.url, running: env.running.version, changed };
      });
    },

    async runGate(input: { layer: LayerSpec; candidate: CandidateRef; gate: GateSpec }): Promise<GateResult> {
      const definition = gateRegistry[input.gate.type];
      if (!definition) {
        throw ApplicationFailure.nonRetryable(`unknown gate type "${input.gate.type}"`, 'UnknownGate');
      }
      return withHeartbeat(async (signal) => {
        const env = await mustDescribe(provider, input.layer.name);
        if (!env.url) {
          return unmeasured(input.gate, `no candidate is running in ${input.layer.name}`);
        }
        const ctx = Context.current();
        const info = ctx.info;
        // Same id on every attempt: a retried load run replaces its stored run, never adds one.
        const runId = stableRunId(
          new Date(info.scheduledTimestampMs),
          `${info.workflowExecution?.workflowId ?? info.activityId}/${info.activityId}`,
        );
        const dependency = provider.dependency?.(input.layer.name);
        const layerName = input.layer.name;
        const chaos =
          dependency && provider.killCandidate
            ? {
                proxyApiUrl: dependency.proxyApiUrl,
                proxyName: FEATURES_PROXY,
                killCandidate: () => provider.killCandidate!(layerName),
                restartCandidate: async () => {
                  await provider.restart(layerName);
                },
              }
            : undefined;
        return definition.run(
          {
            home,
            runId,
            chaos,
            drillsDir: deps.drillsDir,
            knownGood: env.promoted?.version ?? null,
            layer: input.layer,
            candidate: input.candidate,
            dbPath: env.dbPath,
            url: env.url,
            heartbeat: (d?: unknown) => ctx.heartbeat(d),
            signal,
          },
          input.gate,
        );
      });
    },

    async promoteRelease(input: { layer: LayerSpec; digest: string }): Promise<{ running: string | null }> {
      return withHeartbeat(async () => {
        const env = await provider.markPromoted(input.layer.name, input.digest);
        return { running: env.running?.version ?? null };
      });
    },

    /**
     * Asks the layer's environment workflow for its lease, starting that workflow if it is not
     * running (signal-with-start, so a retry cannot start two). The answer comes back as a signal.
     */
    async requestLease(input: { layer: LayerSpec; request: LeaseRequest }): Promise<{ environmentId: string }> {
      if (!client) throw ApplicationFailure.nonRetryable('this worker has no Temporal client for leases', 'NoClient');
      const info = Context.current().info;
      const environmentId = environmentWorkflowId(info.taskQueue, input.layer.name);
      await client.workflow.signalWithStart('environment', {
        workflowId: environmentId,
        taskQueue: info.taskQueue,
        args: [{ layer: input.layer.name, ttl: input.layer.ttl, credentialRotation: input.layer.credentialRotation }],
        signal: leaseRequestSignal,
        signalArgs: [input.request],
      });
      return { environmentId };
    },

    /** The release a manual rollback returns to: the named version, or the last known-good one. */
    async resolveRollbackTarget(input: {
      layer: string;
      toVersion?: string;
    }): Promise<{ release: Release; from: string | null }> {
      const env = await provider.describe(input.layer);
      if (!env)
        throw ApplicationFailure.nonRetryable(`environment ${input.layer} does not exist`, 'RollbackTargetUnknown');
      const from = env.running?.version ?? null;
      if (input.toVersion) {
        const releases = await provider.releases(input.layer);
        const match = [...releases].reverse().find((r) => r.version === input.toVersion);
        if (!match) {
          throw ApplicationFailure.nonRetryable(
            `version ${input.toVersion} was never deployed in ${input.layer} (deployed there: ${releases.map((r) => r.version).join(', ') || 'none'})`,
            'RollbackTargetUnknown',
          );
        }
        return { release: match, from };
      }
      const good = await provider.lastKnownGood(input.layer);
      if (!good)
        throw ApplicationFailure.nonRetryable(
          `${input.layer} has no earlier known-good version to roll back to`,
          'RollbackTargetUnknown',
        );
      return { release: good, from };
    },

    /** The candidate as installed in a release directory (its manifest travels with it). */
    async releaseCandidate(input: { layer: string; digest: string }): Promise<CandidateRef> {
      const release = (await provider.releases(input.layer)).find((r) => r.digest === input.digest);
      if (!release)
        throw ApplicationFailure.nonRetryable(
          `release ${input.digest.slice(0, 12)} is not installed in ${input.layer}`,
          'ReleaseMissing',
        );
      return loadCandidate(release.dir);
    },

    async rotateCredentials(input: { layer: string }): Promise<{ rotatedAt: string | null }> {
      return withHeartbeat(async () => {
        if (!(await provider.describe(input.layer))) return { rotatedAt: null }; // nothing provisioned yet
        return provider.rotateCredentials(input.layer);
      });
    },

    async teardownEnvironment(input: { layer: string }): Promise<void> {
      return withHeartbeat(() => provider.teardown(input.layer));
    },

    async rollbackEnvironment(input: { layer: LayerSpec; to: Release | null }): Promise<{ running: string | null }> {
      return withHeartbeat(async () => {
        const env = await provider.rollback(input.layer.name, input.to);
        return { running: env.running?.version ?? null };
      });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

async function mustDescribe(provider: Provider, layer: string): Promise<EnvironmentInfo> {
  const env = await provider.describe(layer);
  if (!env) throw new Error(`environment ${layer} is not provisioned`);
  return env;
}

function variantDbPath(envDir: string, seed: number): string {
  return path.join(envDir, 'seeds', String(seed), 'data.db');
}

/** What status and audit show of a seed report (no values: counts, scores, names). */
function dataSummary(report: SeedReport): DataSummary {
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
async function dataPlane(step: () => Promise<SeedReport>): Promise<SeedReport> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof SeedRefused)
      throw ApplicationFailure.nonRetryable(err.message, err.kind, { ...dataSummary(err.report), refused: err.kind });
    if (err instanceof ConfigError || err instanceof PiiSourceError)
      throw ApplicationFailure.nonRetryable(err.message, 'DataInputError');
    throw err;
  }
}

function unmeasured(gate: GateSpec, detail: string): GateResult {
  return { name: gate.name, type: gate.type, passed: false, value: null, threshold: gate.threshold ?? null, detail };
}

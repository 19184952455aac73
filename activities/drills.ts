import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DrillBackupSummary, DrillScenario, TableFingerprints } from '../src/domain/drill';
import type { LayerSpec } from '../src/domain/ladder';
import type { GateResult } from '../src/domain/status';
import {
  backupDatabase,
  backupSummary,
  injectFault,
  probeEnvironment,
  readAcks,
  restoreDatabase,
  saveDrillReport,
  snapshotTables,
  startWriter,
  stopWriter,
  verifyRecovery,
  waitForDetection,
  waitForHealthy,
  WRITES_TABLE,
  type DrillReport,
} from '../src/drills';
import { loadCandidate } from '../src/config/candidate';
import { gateRegistry } from '../src/gates/registry';
import type { Provider } from '../src/providers/types';
import { httpOk } from '../src/providers/dependency';

export interface DrillDeps {
  provider: Provider;
  /** $STRATA_HOME/drills: one folder per drill (writer log, backup, injection record, report). */
  drillsDir: string;
}

async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

function writeOnce<T>(file: string, make: () => Promise<T>): Promise<T> {
  // A retried activity returns what the first attempt recorded instead of acting twice.
  if (fs.existsSync(file)) return Promise.resolve(JSON.parse(fs.readFileSync(file, 'utf8')) as T);
  return make().then((value) => {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2));
    fs.renameSync(`${file}.tmp`, file);
    return value;
  });
}

/** The library's probe (candidate health, database, data) plus the environment's dependency. */
async function probeWithDependency(
  provider: Provider,
  layer: string,
  target: { dbPath: string; url: string | null | undefined; snapshot: TableFingerprints },
) {
  const result = await probeEnvironment(target);
  const dep = provider.dependency?.(layer);
  if (dep && !(await httpOk(`${dep.featuresUrl}/health`))) {
    result.problems.push(`the feature-lookup dependency does not answer at ${dep.featuresUrl}`);
    result.healthy = false;
  }
  return result;
}

export interface DrillPrepared {
  steadyStateAt: string;
  backupAt: string;
  snapshot: TableFingerprints;
  backup: DrillBackupSummary;
  writerPid: number;
  writerLog: string;
  steadyState: string[];
  candidate?: { name: string; version: string; digest: string };
}

/** Activities of the DR drill workflow. Each records what it did under drills/<id>/ first. */
export function createDrillActivities(deps: DrillDeps) {
  const { provider } = deps;
  const dirOf = (drillId: string) => {
    const dir = path.join(deps.drillsDir, drillId.replace(/[^A-Za-z0-9._-]+/g, '_'));
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const envOf = async (layer: string) => {
    const env = await provider.describe(layer);
    if (!env || !fs.existsSync(env.dbPath)) {
      throw ApplicationFailure.nonRetryable(
        `layer ${layer} has no environment with a database to drill (promote into it first)`,
        'NoEnvironment',
      );
    }
    return env;
  };

  return {
    /** Steady state (healthy, snapshot) → a writer that keeps writing → an online backup. */
    async drillPrepare(input: { drillId: string; layer: string }): Promise<DrillPrepared> {
      const dir = dirOf(input.drillId);
      return heartbeating(() =>
        writeOnce(path.join(dir, 'prepared.json'), async () => {
          const env = await envOf(input.layer);
          const snapshot = await snapshotTables(env.dbPath);
          delete snapshot[WRITES_TABLE];
          const steady = await probeWithDependency(provider, input.layer, {
            dbPath: env.dbPath,
            url: env.url,
            snapshot,
          });
          if (!steady.healthy) {
            throw ApplicationFailure.nonRetryable(
              `layer ${input.layer} is not in a steady state: ${steady.problems.join('; ')}`,
              'NotSteady',
            );
          }
          const writer = await startWriter({
            dbPath: env.dbPath,
            logFile: path.join(dir, 'writes.log'),
            detached: true,
          });
          await new Promise((r) => setTimeout(r, 400)); // writes before the backup
          const backup = await backupDatabase(env.dbPath, path.join(dir, 'backup'));
          await new Promise((r) => setTimeout(r, 600)); // and after it: the window a restore loses
          return {
            steadyStateAt: steady.at,
            backupAt: backup.at,
            snapshot,
            backup: backupSummary(backup),
            writerPid: writer.pid,
            writerLog: writer.logFile,
            steadyState: steady.problems,
            candidate: env.running
              ? { name: env.running.name, version: env.running.version, digest: env.running.digest }
              : undefined,
          };
        }),
      );
    },

    async drillInject(input: { drillId: string; layer: string; scenario: DrillScenario; percent?: number }) {
      const dir = dirOf(input.drillId);
      return writeOnce(path.join(dir, 'injected.json'), async () => {
        const env = await envOf(input.layer);
        if (input.scenario === 'dependency-down') {
          // The provider owns the dependency: kill its process outright.
          const dep = provider.dependency?.(input.layer);
          if (!dep)
            throw ApplicationFailure.nonRetryable(
              `layer ${input.layer} has no dependency to take down`,
              'InjectFailed',
            );
          process.kill(-dep.featurePid, 'SIGKILL');
          return {
            scenario: input.scenario,
            injectedAt: new Date().toISOString(),
            detail: `killed the feature-lookup service (pid ${dep.featurePid}) with SIGKILL`,
          };
        }
        try {
          return await injectFault(input.scenario, { dbPath: env.dbPath, pid: env.pid }, { percent: input.percent });
        } catch (err) {
          throw ApplicationFailure.nonRetryable((err as Error).message, 'InjectFailed');
        }
      });
    },

    async drillDetect(input: { drillId: string; layer: string; snapshot: TableFingerprints; timeoutMs: number }) {
      const env = await provider.describe(input.layer);
      const dbPath = env?.dbPath ?? path.join(deps.drillsDir, '..', 'envs', input.layer, 'data.db');
      return heartbeating(() =>
        waitForDetection(
          () => probeWithDependency(provider, input.layer, { dbPath, url: env?.url, snapshot: input.snapshot }),
          {
            timeoutMs: input.timeoutMs,
            intervalMs: 50,
          },
        ),
      );
    },

    /** The layer's runbook: restore the latest backup, restart the candidate, reconcile. */
    async drillRecover(input: { drillId: string; layer: string; scenario: DrillScenario; backupFile: string }) {
      return heartbeating(async () => {
        const steps: string[] = [];
        const env = await provider.describe(input.layer);
        if (!env) throw ApplicationFailure.nonRetryable(`environment ${input.layer} disappeared`, 'NoEnvironment');
        if (input.scenario === 'dependency-down') {
          const dep = await provider.ensureDependency!(input.layer);
          steps.push(`restarted the dependency (${dep.started.join(', ') || 'already running'})`);
          return { recoveredAt: new Date().toISOString(), steps };
        }
        if (input.scenario !== 'process-killed') {
          const r = await restoreDatabase(input.backupFile, env.dbPath);
          steps.push(
            `restored ${path.basename(input.backupFile)} (${r.bytes} bytes in ${Math.round(r.ms * 10) / 10} ms)`,
          );
        }
        const restarted = await provider.restart(input.layer);
        steps.push(`restarted ${restarted.running?.version ?? 'the candidate'} (pid ${restarted.pid})`);
        return { recoveredAt: new Date().toISOString(), steps };
      });
    },

    /** Healthy again, data equal to the pre-fault snapshot, the writer's losses counted, a gate passes. */
    async drillVerify(input: {
      drillId: string;
      layer: LayerSpec;
      snapshot: TableFingerprints;
      backup: DrillBackupSummary;
      writerLog: string;
      injectedAt: string;
    }) {
      return heartbeating(async () => {
        const env = await envOf(input.layer.name);
        await waitForHealthy(
          () =>
            probeWithDependency(provider, input.layer.name, {
              dbPath: env.dbPath,
              url: env.url,
              snapshot: input.snapshot,
            }),
          {
            timeoutMs: 30_000,
            intervalMs: 50,
          },
        );
        const verification = await verifyRecovery({
          dbPath: env.dbPath,
          snapshot: input.snapshot,
          backup: input.backup,
          acks: readAcks(input.writerLog),
          injectedAt: input.injectedAt,
        });
        // A gate pass: the layer's first quality gate if it has one, else its schema gate.
        let gate: GateResult | null = null;
        const spec =
          input.layer.gates.find((g) => g.type === 'quality') ?? input.layer.gates.find((g) => g.type === 'schema');
        if (spec && env.running && env.url) {
          const candidate = await loadCandidate(env.running.dir);
          const ctx = Context.current();
          gate = await gateRegistry[spec.type].run(
            {
              layer: input.layer,
              candidate,
              dbPath: env.dbPath,
              url: env.url,
              heartbeat: () => ctx.heartbeat(),
              signal: ctx.cancellationSignal,
            },
            spec,
          );
          if (!gate.passed) verification.problems.push(`gate ${gate.name} failed after recovery: ${gate.detail}`);
          verification.ok = verification.ok && gate.passed;
        }
        return { verifiedAt: new Date().toISOString(), verification, gate };
      });
    },

    async drillStopWriter(input: { writerPid: number; writerLog: string }) {
      return stopWriter(input.writerPid, input.writerLog);
    },

    async drillSaveReport(input: { report: DrillReport }): Promise<{ jsonFile: string; markdownFile: string }> {
      return saveDrillReport(dirOf(input.report.id), input.report);
    },
  };
}

export type DrillActivities = ReturnType<typeof createDrillActivities>;

// The DR drill's steps. Each records what it did under drills/<id>/ first, so a retry repeats
// nothing; faults to processes go through the provider, which owns them.

import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DrillBackupSummary, DrillScenario, TableFingerprints } from '../src/domain/drill';
import type { LayerSpec, PostgresServerSpec } from '../src/domain/ladder';
import { SERVER_FIELD } from '../src/domain/drill';
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
  type InjectedFault,
} from '../src/drills';
import { loadCandidate } from '../src/config/candidate';
import { NO_CAPABILITIES, runMeasuredGate } from '../src/gates/engine';
import { gateRegistry } from '../src/gates/registry';
import { isMeasured } from '../src/gates/types';
import {
  backupPostgres,
  injectPostgresFault,
  POSTGRES_DRILL_SCENARIOS,
  type PostgresDrillScenario,
  type PostgresTarget,
  probePostgresEnvironment,
  restoreDump,
  snapshotPostgres,
  verifyPostgresRecovery,
} from '../src/drills/postgres';
import { killPostgresServer, startPostgresServer } from '../src/drills/postgres-server';
import type { Provider } from '../src/providers/types';
import { httpOk } from '../src/providers/dependency';
import { type ActivityDeps, mustDescribe, withEnvironmentLock, withHeartbeat, writeOnce } from './support';

/**
 * The environment's PostgreSQL database when it has one: then the drill breaks, backs up, restores
 * and verifies that database instead of the SQLite file. Passwords inside: never returned.
 */
function postgresOf(provider: Provider, layer: string): PostgresTarget | null {
  const db = provider.databaseOf?.(layer);
  return db?.kind === 'postgres' ? { adminUrl: db.adminUrl, database: db.database, url: db.url } : null;
}

/** The scenarios a drill can run on either kind of environment's database. */
const SCENARIOS = {
  sqlite: ['process-killed', 'rows-corrupted', 'table-dropped', 'database-removed', 'dependency-down'],
  postgres: ['process-killed', ...POSTGRES_DRILL_SCENARIOS, 'dependency-down', 'server-killed'],
} as const satisfies Record<string, readonly DrillScenario[]>;

/** Refuses a scenario the environment's kind of database has no injection for, naming those it has. */
function assertScenarioFor(layer: string, kind: keyof typeof SCENARIOS, scenario: DrillScenario): void {
  const available: readonly DrillScenario[] = SCENARIOS[kind];
  if (!available.includes(scenario)) {
    throw ApplicationFailure.nonRetryable(
      `layer ${layer} keeps its data in ${kind === 'postgres' ? 'PostgreSQL' : 'a SQLite file'}: scenario ${scenario} does not apply there; ` +
        `available: ${available.join(', ')}`,
      'ScenarioUnavailable',
    );
  }
}

/** The library's probe (candidate health, database, data) plus the environment's dependency. */
async function probeWithDependency(
  provider: Provider,
  layer: string,
  target: { dbPath: string; url: string | null | undefined; snapshot: TableFingerprints },
) {
  const pg = postgresOf(provider, layer);
  const result = pg ? await probePostgresEnvironment(pg, target.url, target.snapshot) : await probeEnvironment(target);
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

/** Activities of the DR drill workflow. */
export function createDrillActivities({ provider, paths }: ActivityDeps) {
  /** drills/<id>: writer log, backup, injection record, report. */
  const dirOf = (drillId: string) => {
    const dir = path.join(paths.drills, drillId.replace(/[^A-Za-z0-9._-]+/g, '_'));
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const envOf = (layer: string) =>
    mustDescribe(provider, layer, {
      // A postgres environment's database is on the server, whatever its SQLite file's state.
      database: !postgresOf(provider, layer),
      failure: {
        type: 'NoEnvironment',
        message: `layer ${layer} has no environment with a database to drill (promote into it first)`,
      },
    });

  return {
    /** Steady state (healthy, snapshot) → a writer that keeps writing → an online backup. */
    async drillPrepare(input: { drillId: string; layer: string }): Promise<DrillPrepared> {
      const dir = dirOf(input.drillId);
      return withHeartbeat(() =>
        writeOnce(path.join(dir, 'prepared.json'), async () => {
          const env = await envOf(input.layer);
          const pg = postgresOf(provider, input.layer);
          const snapshot = pg ? await snapshotPostgres(pg.url) : await snapshotTables(env.dbPath);
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
            ...(pg ? { postgresUrl: pg.url } : {}),
            logFile: path.join(dir, 'writes.log'),
            detached: true,
          });
          await new Promise((r) => setTimeout(r, 400)); // writes before the backup
          const backup = pg
            ? await backupPostgres(pg, path.join(dir, 'backup'), snapshot)
            : backupSummary(await backupDatabase(env.dbPath, path.join(dir, 'backup')));
          await new Promise((r) => setTimeout(r, 600)); // and after it: the window a restore loses
          return {
            steadyStateAt: steady.at,
            backupAt: backup.at,
            snapshot,
            backup,
            writerPid: writer.pid,
            writerLog: writer.logFile,
            steadyState: steady.problems,
            candidate: env.runningRelease
              ? {
                  name: env.runningRelease.name,
                  version: env.runningRelease.version,
                  digest: env.runningRelease.digest,
                }
              : undefined,
          };
        }),
      );
    },

    async drillInject(input: {
      drillId: string;
      layer: string;
      scenario: DrillScenario;
      percent?: number;
      /** server-killed: the layer's provider.server (how to find and start the server). */
      server?: PostgresServerSpec;
    }) {
      const dir = dirOf(input.drillId);
      const inject = () =>
        writeOnce(path.join(dir, 'injected.json'), async (): Promise<InjectedFault> => {
          const env = await envOf(input.layer);
          const pg = postgresOf(provider, input.layer);
          assertScenarioFor(input.layer, pg ? 'postgres' : 'sqlite', input.scenario);
          if (input.scenario === 'server-killed') {
            if (!input.server)
              throw ApplicationFailure.nonRetryable(
                `layer ${input.layer}: ${SERVER_FIELD} is not set, so Strata cannot start its PostgreSQL server again: server-killed refused`,
                'NoServerControl',
              );
            try {
              // The record is written before the signal: a retry after the kill kills nothing twice.
              const killed = await killPostgresServer(input.server, pg!.adminUrl, path.join(dir, 'server-kill.json'));
              return { scenario: input.scenario, injectedAt: killed.injectedAt, detail: killed.detail };
            } catch (err) {
              throw ApplicationFailure.nonRetryable((err as Error).message, 'InjectFailed');
            }
          }
          // The provider owns the processes: it kills the dependency or the candidate.
          if (input.scenario === 'dependency-down') {
            const injectedAt = new Date().toISOString();
            const killed = await provider.killDependency?.(input.layer);
            if (!killed)
              throw ApplicationFailure.nonRetryable(
                `layer ${input.layer} has no dependency to take down`,
                'InjectFailed',
              );
            return {
              scenario: input.scenario,
              injectedAt,
              detail: `killed the feature-lookup service (pid ${killed.pid}) with SIGKILL`,
            };
          }
          if (input.scenario === 'process-killed') {
            const injectedAt = new Date().toISOString();
            const killed = await provider.killCandidate?.(input.layer);
            if (!killed)
              throw ApplicationFailure.nonRetryable(
                `cannot inject process-killed: no candidate process is running in ${input.layer}`,
                'InjectFailed',
              );
            return {
              scenario: input.scenario,
              injectedAt,
              detail: `SIGKILL sent to the candidate's process group ${killed.pid}; it exited`,
            };
          }
          try {
            if (pg) {
              // As the admin role: what an operator's mistake or a bad migration would do.
              const fault = await injectPostgresFault(
                input.scenario as PostgresDrillScenario,
                pg.adminUrl,
                pg.database,
                {
                  percent: input.percent,
                },
              );
              return { scenario: input.scenario, ...fault };
            }
            return await injectFault(input.scenario, { dbPath: env.dbPath, pid: env.pid }, { percent: input.percent });
          } catch (err) {
            throw ApplicationFailure.nonRetryable((err as Error).message, 'InjectFailed');
          }
        });
      return withHeartbeat(inject);
    },

    async drillDetect(input: { drillId: string; layer: string; snapshot: TableFingerprints; timeoutMs: number }) {
      const env = await provider.describe(input.layer);
      const dbPath = env?.dbPath ?? path.join(paths.envs, input.layer, 'data.db');
      return withHeartbeat(() =>
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
    async drillRecover(input: {
      drillId: string;
      layer: string;
      scenario: DrillScenario;
      backupFile: string;
      server?: PostgresServerSpec;
    }) {
      return withHeartbeat(async () => {
        const steps: string[] = [];
        const env = await provider.describe(input.layer);
        if (!env) throw ApplicationFailure.nonRetryable(`environment ${input.layer} disappeared`, 'NoEnvironment');
        if (input.scenario === 'server-killed') {
          const pg = postgresOf(provider, input.layer);
          if (!pg || !input.server)
            throw ApplicationFailure.nonRetryable(
              `layer ${input.layer}: ${SERVER_FIELD} is not set: nothing to start`,
              'NoServerControl',
            );
          // Idempotent: a retry finds the verified server running and starts nothing.
          const r = await startPostgresServer(input.server, pg.adminUrl);
          steps.push(
            r.started
              ? `started the PostgreSQL server with pg_ctl as ${r.user} (pid ${r.pid ?? '?'}); accepting connections after ${r.ms} ms` +
                  (r.recovery ? `; ${r.recovery}` : '')
              : `the PostgreSQL server was already running (pid ${r.pid}): nothing started`,
          );
          return { recoveredAt: new Date().toISOString(), steps };
        }
        if (input.scenario === 'dependency-down') {
          if (!provider.ensureDependency)
            throw ApplicationFailure.nonRetryable(`the ${provider.kind} provider runs no dependency`, 'NoDependency');
          const dep = await provider.ensureDependency(input.layer);
          steps.push(`restarted the dependency (${dep.started.join(', ') || 'already running'})`);
          return { recoveredAt: new Date().toISOString(), steps };
        }
        const pg = postgresOf(provider, input.layer);
        if (pg && input.scenario !== 'process-killed') {
          const r = await restoreDump(pg.adminUrl, pg.database, input.backupFile);
          steps.push(
            `${r.created ? `recreated database ${pg.database} and ` : ''}restored ${path.basename(input.backupFile)} with pg_restore (${r.ms} ms)`,
          );
        } else if (input.scenario !== 'process-killed') {
          const r = await restoreDatabase(input.backupFile, env.dbPath);
          steps.push(
            `restored ${path.basename(input.backupFile)} (${r.bytes} bytes in ${Math.round(r.ms * 10) / 10} ms)`,
          );
        }
        const restarted = await withEnvironmentLock(paths, input.layer, () => provider.restart(input.layer));
        steps.push(`restarted ${restarted.running ?? 'the candidate'} (pid ${restarted.pid})`);
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
      return withHeartbeat(async () => {
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
        const pg = postgresOf(provider, input.layer.name);
        const facts = {
          snapshot: input.snapshot,
          backup: input.backup,
          acks: readAcks(input.writerLog),
          injectedAt: input.injectedAt,
        };
        const verification = pg
          ? await verifyPostgresRecovery(pg, facts)
          : await verifyRecovery({ dbPath: env.dbPath, ...facts });
        // A gate pass: the layer's first quality gate if it has one, else its schema gate.
        let gate: GateResult | null = null;
        const spec =
          input.layer.gates.find((g) => g.type === 'quality') ?? input.layer.gates.find((g) => g.type === 'schema');
        const definition = spec ? gateRegistry[spec.type] : undefined;
        if (spec && definition && isMeasured(definition) && env.runningRelease && env.url) {
          const candidate = await loadCandidate(env.runningRelease.dir, { installed: true });
          const ctx = Context.current();
          gate = await runMeasuredGate(
            definition,
            {
              layer: input.layer,
              candidate,
              dbPath: env.dbPath,
              url: env.url,
              heartbeat: () => ctx.heartbeat(),
              signal: ctx.cancellationSignal,
            },
            spec,
            NO_CAPABILITIES,
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

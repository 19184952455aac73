// The workers of `npm run bench -- engine` (and of the engine history test): Strata's workflows
// with its real activities on the no-op provider, gates that pass at once; and the bare baseline's
// workflow. Both with the same worker settings as createStrataWorker (workers/worker.ts).

import path from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { GateSpec } from '../../src/domain/ladder';
import type { GateResult } from '../../src/domain/status';
import { strataPaths } from '../../src/paths';
import { DEFAULT_MAX_CACHED_WORKFLOWS, WORKFLOWS_PATH } from '../../workers/worker';
import { bareActivities } from './bare-activities';
import { NoopProvider } from './noop-provider';

/**
 * The workflow cache bound: createStrataWorker's default, or STRATA_MAX_CACHED_WORKFLOWS as
 * `strata worker` reads it (to measure another bound).
 */
function cacheBound(raw = process.env.STRATA_MAX_CACHED_WORKFLOWS): number {
  if (!raw) return DEFAULT_MAX_CACHED_WORKFLOWS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`STRATA_MAX_CACHED_WORKFLOWS: expected a whole number >= 0 (got "${raw}")`);
  return n;
}

/** The settings createStrataWorker gives a worker, shared by both workers so they compare. */
export const WORKER_SETTINGS = {
  maxCachedWorkflows: cacheBound(),
  shutdownGraceTime: '5s',
  maxHeartbeatThrottleInterval: '500ms',
  defaultHeartbeatThrottleInterval: '500ms',
} as const;

export const BARE_WORKFLOWS_PATH = path.resolve(__dirname, 'bare-workflows.ts');

export function bundle(kind: 'strata' | 'bare'): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: kind === 'strata' ? WORKFLOWS_PATH : BARE_WORKFLOWS_PATH,
    logger: new DefaultLogger('WARN'),
  });
}

/** A gate that measures nothing and passes: the engine's cost of a gate, without the gate's work. */
export function trivialGate(gate: GateSpec): GateResult {
  return {
    name: gate.name,
    type: gate.type,
    passed: true,
    value: 1,
    threshold: gate.threshold ?? null,
    detail: 'trivial bench gate',
  };
}

export async function createEngineWorker(opts: {
  kind: 'strata' | 'bare';
  connection: NativeConnection;
  client: Client;
  namespace: string;
  taskQueue: string;
  bundle: WorkflowBundle;
  maxCachedWorkflows?: number;
}): Promise<Worker> {
  const activities =
    opts.kind === 'bare'
      ? bareActivities
      : {
          ...createActivities({
            provider: new NoopProvider(),
            client: opts.client,
            paths: strataPaths('/nonexistent/strata-bench-home'),
          }),
          async runGate(input: { gate: GateSpec }): Promise<GateResult> {
            return trivialGate(input.gate);
          },
        };
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities,
    workflowBundle: opts.bundle,
    ...WORKER_SETTINGS,
    ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
  });
}

/** A ladder of `layers` layers named `<prefix>-l<k>` (its own environments), `gates` trivial gates each. */
export function benchLadderYaml(
  prefix: string,
  opts: { layers: number; gates: number; manual?: boolean; ladder?: string },
): string {
  const gates = Array.from({ length: opts.gates }, (_, j) => `      - { type: schema, name: g${j} }`).join('\n');
  const approval = opts.manual ? '{ required: 1, approvers: [alice], expiry: 2h }' : 'auto';
  const layers = Array.from(
    { length: opts.layers },
    (_, k) => `  - name: ${prefix}-l${k}
    seed: { rows: 10, seed: 1 }
    gates:
${gates}
    approval: ${approval}`,
  ).join('\n');
  return `name: ${opts.ladder ?? 'bench-ladder'}\nlayers:\n${layers}\n`;
}

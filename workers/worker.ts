import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import {
  bundleWorkflowCode,
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type WorkflowBundle,
} from '@temporalio/worker';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import { createActivities } from '../activities';
import { ensureToxiproxy } from '../src/chaos/toxiproxy';
import type { StrataPaths } from '../src/paths';
import type { Provider } from '../src/providers/types';
import { authMetadata, tracingClientOptions } from '../src/temporal/connection';
import { installTracing, tracingEnabled } from '../src/tracing/tracing';

export const WORKFLOWS_PATH = path.resolve(__dirname, '../workflows/index.ts');

let runtimeInstalled = false;
/** Quiet the SDK's own logger: warnings and errors only, to stderr. */
export function installRuntime(level?: string): void {
  if (level) process.env.STRATA_SDK_LOG_LEVEL = level;
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    const level = (process.env.STRATA_SDK_LOG_LEVEL ?? 'WARN') as 'WARN';
    Runtime.install({
      logger: new DefaultLogger(level),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level }) } },
    });
  } catch {
    // already installed by the host process (tests)
  }
}

/**
 * The OpenTelemetry workflow interceptors: spans for every workflow run, child workflow, activity
 * scheduled and signal, exported through the worker's `exporter` sink. They add headers, never
 * commands, and the SDK's flags keep replays of histories recorded without them deterministic.
 */
export const WORKFLOW_TRACING_MODULES = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/**
 * Bundles the workflows once; tests reuse one bundle across workers. With tracing on
 * (tracingEnabled) the bundle carries the workflow interceptors.
 */
export function bundleWorkflows(opts: { tracing?: boolean } = {}): Promise<WorkflowBundle> {
  const tracing = opts.tracing ?? tracingEnabled();
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: new DefaultLogger('WARN'),
    ...(tracing ? { workflowInterceptorModules: WORKFLOW_TRACING_MODULES } : {}),
  });
}

export interface StrataWorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  provider: Provider;
  /** $STRATA_HOME and its folders (settings.paths). */
  paths: StrataPaths;
  bundle?: WorkflowBundle;
  /** Signals that stop the worker gracefully; none in tests. */
  shutdownSignals?: NodeJS.Signals[];
  /** Bearer token for a cluster with the JWT authorizer (the worker's service token). */
  token?: string;
  /** Activities this worker runs at once (SDK default 100). */
  maxConcurrentActivities?: number;
  /** Workflows kept in this worker's cache (SDK default depends on memory). */
  maxCachedWorkflows?: number;
  /** After SIGTERM, how long running activities may finish before they are cancelled (default 5 s). */
  shutdownGraceTime?: Duration;
}

export async function createStrataWorker(
  opts: StrataWorkerOptions,
): Promise<{ worker: Worker; connection: { close(): Promise<void> } }> {
  installRuntime();
  // Environments put their dependency behind Toxiproxy: build it now (once) rather than inside a deploy.
  await ensureToxiproxy();
  const tracing = installTracing('strata-worker');
  const connection = await NativeConnection.connect({ address: opts.address, ...authMetadata(opts.token) });
  const clientConnection = await Connection.connect({ address: opts.address, ...authMetadata(opts.token) });
  const client = new Client({
    connection: clientConnection,
    namespace: opts.namespace,
    ...tracingClientOptions('strata-worker'),
  });
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: createActivities({ provider: opts.provider, client, paths: opts.paths }),
    ...(opts.bundle ? { workflowBundle: opts.bundle } : { workflowsPath: WORKFLOWS_PATH }),
    // Tracing: activity spans continue the workflow's trace; workflow spans leave the sandbox
    // through the exporter sink. The workflow interceptors are in the bundle (bundleWorkflows).
    ...(tracing.enabled
      ? {
          interceptors: {
            ...(opts.bundle ? {} : { workflowModules: WORKFLOW_TRACING_MODULES }),
            activity: [
              (ctx) => ({
                inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
                outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
              }),
            ],
          },
          sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
        }
      : {}),
    shutdownGraceTime: opts.shutdownGraceTime ?? '5s',
    ...(opts.maxConcurrentActivities ? { maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities } : {}),
    ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
    // Heartbeats reach the server at least every 500 ms, so a cancellation (an abort) reaches a
    // running activity — a load run — within about a second.
    maxHeartbeatThrottleInterval: '500ms',
    defaultHeartbeatThrottleInterval: '500ms',
  });
  const close = async () => {
    await tracing.flush().catch(() => undefined);
    await connection.close();
    await clientConnection.close();
  };
  return { worker, connection: { close } };
}

import path from 'node:path';
import { payloadCodecs } from '../src/temporal/codec';
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
import type { Context as ActivityContext } from '@temporalio/activity';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import { createActivities } from '../activities';
import { ensureToxiproxy } from '../src/chaos/toxiproxy';
import type { StrataPaths } from '../src/paths';
import type { Provider } from '../src/providers/types';
import { authMetadata } from '../src/temporal/connection';
import { tracingClientOptions } from '../src/temporal/client-tracing';
import { installTracing, tracingEnabled } from '../src/tracing/tracing';
import { logger } from '../src/log/logger';
import { metricsActivityInterceptor } from '../src/metrics/activity-interceptor';
import { type MetricsServer, startMetricsServer } from '../src/metrics/server';
import { TemporalCollector } from '../src/metrics/temporal-collector';
import { freePort } from '../src/tools/ports';
import { ensureAuditSchedule } from '../src/temporal/audit-schedule';
import { loadNotifications } from '../src/notify/config';

export const WORKFLOWS_PATH = path.resolve(__dirname, '../workflows/index.ts');

let runtimeInstalled = false;
/** Where this process's Core SDK serves its Prometheus metrics, once installed with them. */
let coreMetricsAddress: string | undefined;
/**
 * Quiet the SDK's own logger: warnings and errors only, to stderr. With `coreMetrics` (host:port),
 * the Core SDK also serves its runtime metrics (pollers, slots, latencies) there; the runtime is
 * installed once per process, so only the first call decides.
 */
export function installRuntime(level?: string, coreMetrics?: string): void {
  if (level) process.env.STRATA_SDK_LOG_LEVEL = level;
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    const level = (process.env.STRATA_SDK_LOG_LEVEL ?? 'WARN') as 'WARN';
    Runtime.install({
      logger: new DefaultLogger(level),
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: level }) },
        ...(coreMetrics
          ? {
              metrics: {
                prometheus: { bindAddress: coreMetrics, countersTotalSuffix: true, useSecondsForDurations: true },
              },
            }
          : {}),
      },
    });
    coreMetricsAddress = coreMetrics;
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
  /** Workflows kept in this worker's cache (default DEFAULT_MAX_CACHED_WORKFLOWS; 0: none). */
  maxCachedWorkflows?: number;
  /** After SIGTERM, how long running activities may finish before they are cancelled (default 5 s). */
  shutdownGraceTime?: Duration;
  /** Serve Prometheus metrics on this port at /metrics (0: any free port); none when unset. */
  metricsPort?: number;
  /** Where the Core SDK serves its own metrics, merged into /metrics (default: a free loopback port). */
  coreMetricsAddress?: string;
}

/**
 * Workflows a worker keeps in its cache unless told otherwise. The SDK's own default grows with the
 * machine's memory (thousands here), and every parked promotion keeps four workflows (promotion,
 * layer, environment, ladder) cached: 1,000 parked took a worker to 1.6 GiB. Past this bound the
 * least recently used are evicted (their sticky queue released) and replayed from history when
 * they next have work, which a promotion waiting for people rarely has. A cached workflow costs
 * about 0.5 MiB: with 1,000 the worker holding 1,000 parked promotions measured 962-1,021 MiB, at
 * the 1 GiB bar (issue 15); with 600, 813 MiB (docs/benchmarks.md, session 14).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 600;

export async function createStrataWorker(
  opts: StrataWorkerOptions,
): Promise<{ worker: Worker; connection: { close(): Promise<void> }; client: Client; metrics?: MetricsServer }> {
  const wantsMetrics = opts.metricsPort !== undefined;
  installRuntime(undefined, wantsMetrics ? (opts.coreMetricsAddress ?? `127.0.0.1:${await freePort()}`) : undefined);
  // Environments put their dependency behind Toxiproxy: build it now (once) rather than inside a deploy.
  await ensureToxiproxy();
  const tracing = installTracing('strata-worker');
  const connection = await NativeConnection.connect({ address: opts.address, ...authMetadata(opts.token) });
  const clientConnection = await Connection.connect({ address: opts.address, ...authMetadata(opts.token) });
  // Encrypted payloads (STRATA_PAYLOAD_KEYRING): the worker and its client seal and open alike.
  const dataConverter = { payloadCodecs: payloadCodecs() };
  const client = new Client({
    connection: clientConnection,
    namespace: opts.namespace,
    dataConverter,
    ...tracingClientOptions('strata-worker'),
  });
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    dataConverter,
    taskQueue: opts.taskQueue,
    activities: createActivities({ provider: opts.provider, client, paths: opts.paths }),
    ...(opts.bundle ? { workflowBundle: opts.bundle } : { workflowsPath: WORKFLOWS_PATH }),
    // Tracing: activity spans continue the workflow's trace; workflow spans leave the sandbox
    // through the exporter sink. The workflow interceptors are in the bundle (bundleWorkflows).
    // Metrics: an activity interceptor records each activity's facts. Tracing: activity spans
    // continue the workflow's trace; workflow spans leave the sandbox through the exporter sink
    // (the workflow interceptors are in the bundle, bundleWorkflows).
    interceptors: {
      ...(tracing.enabled && !opts.bundle ? { workflowModules: WORKFLOW_TRACING_MODULES } : {}),
      activity: [
        ...(wantsMetrics ? [metricsActivityInterceptor(client)] : []),
        ...(tracing.enabled
          ? [
              (ctx: ActivityContext) => ({
                inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
                outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
              }),
            ]
          : []),
      ],
    },
    ...(tracing.enabled ? { sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) } } : {}),
    shutdownGraceTime: opts.shutdownGraceTime ?? '5s',
    ...(opts.maxConcurrentActivities ? { maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities } : {}),
    maxCachedWorkflows: opts.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
    // Heartbeats reach the server at least every 500 ms, so a cancellation (an abort) reaches a
    // running activity — a load run — within about a second.
    maxHeartbeatThrottleInterval: '500ms',
    defaultHeartbeatThrottleInterval: '500ms',
  });
  checkNotificationSettings(opts.paths.home);
  let metrics: MetricsServer | undefined;
  if (wantsMetrics) {
    const collector = new TemporalCollector(client, opts.taskQueue);
    if (!coreMetricsAddress)
      logger.warn('metrics: the SDK runtime was installed earlier without metrics; no temporal_* series');
    metrics = await startMetricsServer({
      port: opts.metricsPort!,
      refresh: () => collector.refresh(),
      ...(coreMetricsAddress ? { coreUrl: `http://${coreMetricsAddress}/metrics` } : {}),
    });
  }
  const close = async () => {
    await metrics?.close();
    await tracing.flush().catch(() => undefined);
    await connection.close();
    await clientConnection.close();
  };
  return { worker, connection: { close }, client, ...(metrics ? { metrics } : {}) };
}

/**
 * Reads strata.yaml's notification webhooks once at start, so a mistake shows in the worker's log
 * now rather than as notification.failed at the first reminder. The notify activity reads it again
 * at each notice (a fix needs no restart), so a bad file does not stop the worker.
 */
function checkNotificationSettings(home: string): void {
  try {
    const settings = loadNotifications(home);
    if (settings.webhooks.length > 0)
      logger.info(
        { file: settings.file, webhooks: settings.webhooks.map((h) => h.name) },
        'approval notifications: webhooks configured',
      );
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'approval notifications: strata.yaml is invalid; notices will fail');
  }
}

/**
 * The daily audit export (docs/operations.md): a worker process makes sure its task queue has the
 * Schedule, so `strata up` and `strata worker` get one without a further step. Idempotent, and
 * STRATA_AUDIT_SCHEDULE=off opts out; a failure here is logged and does not stop the worker.
 */
export async function ensureDailyAuditExport(client: Client, taskQueue: string): Promise<void> {
  if (process.env.STRATA_AUDIT_SCHEDULE === 'off') return;
  try {
    const s = await ensureAuditSchedule(client, taskQueue);
    logger.info({ schedule: s.id, created: s.created, next: s.nextActionTimes[0] }, 'audit export schedule');
  } catch (err) {
    logger.warn({ err }, 'could not ensure the daily audit export schedule (strata audit schedule retries)');
  }
}

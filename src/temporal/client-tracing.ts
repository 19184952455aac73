// The client interceptors that trace a client's workflow calls: in a module of its own because it
// loads the OpenTelemetry SDK, which connection.ts (every CLI command in local mode) loads only when
// tracing is on.
import type { ClientOptions } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { installTracing } from '../tracing/tracing';

/**
 * With tracing on (tracingEnabled), a client's starts, signals and Updates are spans whose context
 * the workflows continue; `service` names this process in the traces when it installs tracing first.
 */
export function tracingClientOptions(service: string): Pick<ClientOptions, 'interceptors'> {
  const tracing = installTracing(service);
  return tracing.enabled ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {};
}

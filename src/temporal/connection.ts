import { Client, type ClientOptions, Connection } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { installTracing } from '../tracing/tracing';
import { payloadCodecs } from './codec';
import type { StrataSettings } from './settings';

/** Nothing answers at the Temporal address. The message says how to fix it in one line. */
export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
  constructor(readonly address: string) {
    super(
      `no Temporal server at ${address}: start one with \`strata up\` (in another terminal), ` +
        'or set TEMPORAL_ADDRESS to a running server',
    );
  }
}

/**
 * The gRPC metadata that carries a cluster token (the JWT authorizer reads `authorization`).
 * Metadata rather than the SDK's `apiKey` option, which would also switch TLS on.
 */
export function authMetadata(token: string | undefined): { metadata?: Record<string, string> } {
  return token ? { metadata: { authorization: `Bearer ${token}` } } : {};
}

export async function connect(settings: StrataSettings, timeout: Duration = '3s'): Promise<Connection> {
  try {
    return await Connection.connect({
      address: settings.address,
      connectTimeout: timeout,
      ...authMetadata(settings.token),
    });
  } catch {
    throw new TemporalUnreachableError(settings.address);
  }
}

export async function connectClient(settings: StrataSettings): Promise<{ client: Client; connection: Connection }> {
  const connection = await connect(settings);
  const client = new Client({
    connection,
    namespace: settings.namespace,
    // Encrypted payloads (STRATA_PAYLOAD_KEYRING): what the client sends is sealed, what it reads opened.
    dataConverter: { payloadCodecs: payloadCodecs() },
    ...tracingClientOptions('strata-cli'),
  });
  return { client, connection };
}

/**
 * With tracing on (tracingEnabled), a client's starts, signals and Updates are spans whose context
 * the workflows continue; `service` names this process in the traces when it installs tracing first.
 */
export function tracingClientOptions(service: string): Pick<ClientOptions, 'interceptors'> {
  const tracing = installTracing(service);
  return tracing.enabled ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {};
}

/** True when a Temporal frontend answers at the address. */
export async function isReachable(settings: StrataSettings, timeout: Duration = '1s'): Promise<boolean> {
  try {
    const connection = await Connection.connect({
      address: settings.address,
      connectTimeout: timeout,
      ...authMetadata(settings.token),
    });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

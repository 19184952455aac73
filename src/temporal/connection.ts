import { Client, type ClientOptions, Connection } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { tracingEnabled } from '../tracing/settings';
import { payloadCodecs } from './codec';
import type { StrataSettings } from './settings';
import { TemporalUnreachableError } from './errors';

export { TemporalUnreachableError };

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
    ...(await lazyTracingClientOptions('strata-cli')),
  });
  return { client, connection };
}

/** tracingClientOptions, loading the OpenTelemetry SDK and interceptors only when tracing is on. */
async function lazyTracingClientOptions(service: string): Promise<Pick<ClientOptions, 'interceptors'>> {
  if (!tracingEnabled()) return {};
  const { tracingClientOptions } = await import('./client-tracing');
  return tracingClientOptions(service);
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

import path from 'node:path';
import { strataPaths, type StrataPaths } from '../paths';
import { tokenFromEnv } from './auth';

export const TEMPORAL_CLI_VERSION = '1.5.1';
export const TASK_QUEUE = 'strata';

/** Where Strata keeps its state and how it reaches Temporal, from the environment. */
export interface StrataSettings {
  home: string;
  /** The folders under `home`. */
  paths: StrataPaths;
  /** host:port of the Temporal frontend. */
  address: string;
  /** True when TEMPORAL_ADDRESS names an external cluster: Strata starts no server. */
  external: boolean;
  namespace: string;
  taskQueue: string;
  retentionDays: number;
  /** Bearer token for a cluster with the JWT authorizer (STRATA_TEMPORAL_TOKEN or STRATA_TEMPORAL_TOKEN_FILE). */
  token?: string;
  /**
   * The base URL of the frontend's HTTP API, which `strata status` reads when it answers (and the
   * gRPC client otherwise): STRATA_TEMPORAL_HTTP, else, for the dev server Strata runs itself,
   * its port + 10 (`strata up` asks for it; 7243 for 7233, Temporal's own default).
   */
  httpApi?: string;
}

/** `strata up` serves the HTTP API this far above the gRPC port (7233 → 7243, as Temporal's defaults). */
export const HTTP_API_PORT_OFFSET = 10;

export function loadSettings(env: NodeJS.ProcessEnv = process.env, overrides: { port?: number } = {}): StrataSettings {
  const home = path.resolve(env.STRATA_HOME ?? '.strata');
  const external = Boolean(env.TEMPORAL_ADDRESS);
  const port = overrides.port ?? 7233;
  const address = env.TEMPORAL_ADDRESS ?? `127.0.0.1:${port}`;
  const retentionRaw = env.STRATA_RETENTION_DAYS ?? '30';
  const retentionDays = Number(retentionRaw);
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new SettingsError(`STRATA_RETENTION_DAYS: expected a whole number of days >= 1, got "${retentionRaw}"`);
  }
  return {
    home,
    paths: strataPaths(home),
    address,
    external,
    namespace: env.TEMPORAL_NAMESPACE ?? 'strata',
    taskQueue: env.STRATA_TASK_QUEUE ?? TASK_QUEUE,
    retentionDays,
    token: tokenFromEnv(env),
    httpApi: httpApiOf(env, external ? undefined : port),
  };
}

function httpApiOf(env: NodeJS.ProcessEnv, localPort: number | undefined): string | undefined {
  const raw = env.STRATA_TEMPORAL_HTTP?.trim();
  if (raw) {
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
      throw new SettingsError(
        `STRATA_TEMPORAL_HTTP: expected the http:// or https:// URL of Temporal's HTTP API, e.g. http://127.0.0.1:7243 (got "${raw}")`,
      );
    }
    return url.href.replace(/\/+$/, '');
  }
  if (localPort === undefined || localPort + HTTP_API_PORT_OFFSET > 65535) return undefined;
  return `http://127.0.0.1:${localPort + HTTP_API_PORT_OFFSET}`;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** ~/.cache/strata (or $XDG_CACHE_HOME/strata): builds shared by every checkout on this machine. */
export { cacheDir } from '../tools/go-install';

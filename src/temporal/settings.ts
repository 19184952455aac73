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
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env, overrides: { port?: number } = {}): StrataSettings {
  const home = path.resolve(env.STRATA_HOME ?? '.strata');
  const external = Boolean(env.TEMPORAL_ADDRESS);
  const address = env.TEMPORAL_ADDRESS ?? `127.0.0.1:${overrides.port ?? 7233}`;
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
  };
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** ~/.cache/strata (or $XDG_CACHE_HOME/strata): builds shared by every checkout on this machine. */
export { cacheDir } from '../tools/go-install';

// Every command loads this module (main.ts, command.ts): each error class comes from a module that
// loads nothing heavy, never from the module that throws it (the Temporal client, SQLite, undici).
import { ArtifactTamperedError } from '../artifacts/errors';
import { ConfigError, UsageError } from '../validation/errors';
import { SettingsError } from '../temporal/settings';
import {
  EnvironmentNotFoundError,
  LadderNotFoundError,
  PromotionNotFoundError,
  TemporalUnreachableError,
} from '../temporal/errors';
import { RefusedError } from '../temporal/refused';
import { TemporalCliError } from '../temporal/cli';
import { ToxiproxyError } from '../chaos/toxiproxy-error';
import { TokenError } from '../temporal/auth';
import { ClusterError } from '../temporal/cluster-tools';
import { TokenStoreError } from '../api/store-error';
import { ApiError } from './api-error';

/** Exit codes: 0 ok, 1 the operation failed or was refused, 2 bad usage or config. */
// `as const`: the literal types stay exact where actions return them through generic helpers.
export const EXIT_OK = 0 as const;
export const EXIT_FAILED = 1 as const;
export const EXIT_USAGE = 2 as const;
export type ExitCode = typeof EXIT_OK | typeof EXIT_FAILED | typeof EXIT_USAGE;

export { UsageError };

/** Prints one clear message for a known error and returns the exit code. */
export function reportError(err: unknown): ExitCode {
  // Every line carries the prefix, so a multi-issue config error reads as one list.
  const write = (text: string) =>
    process.stderr.write(
      text
        .split('\n')
        .map((line) => `strata: ${line}`)
        .join('\n') + '\n',
    );
  if (
    err instanceof ConfigError ||
    err instanceof SettingsError ||
    err instanceof UsageError ||
    err instanceof TokenError ||
    err instanceof TokenStoreError
  ) {
    write(err.message);
    return EXIT_USAGE;
  }
  if (
    err instanceof TemporalUnreachableError ||
    err instanceof RefusedError ||
    err instanceof PromotionNotFoundError ||
    err instanceof EnvironmentNotFoundError ||
    err instanceof LadderNotFoundError ||
    err instanceof TemporalCliError ||
    err instanceof ToxiproxyError ||
    err instanceof ClusterError ||
    err instanceof ArtifactTamperedError ||
    err instanceof ApiError
  ) {
    write(err.message);
    return EXIT_FAILED;
  }
  // The Temporal client's own class, known by name: importing it would load the client for every command.
  if (err instanceof Error && err.name === 'NamespaceNotFoundError') {
    const namespace = (err as Error & { namespace?: string }).namespace ?? process.env.TEMPORAL_NAMESPACE;
    write(
      `Temporal at ${process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233'} has no namespace "${namespace}": ` +
        'start it with `strata up`, or set TEMPORAL_NAMESPACE to the one Strata runs in',
    );
    return EXIT_FAILED;
  }
  write(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return EXIT_FAILED;
}

import { spawnSync } from 'node:child_process';
import { cachedToolPath, type GoInstallOptions, type GoTool, goInstallCached, findGoTool } from '../tools/go-install';
import { TEMPORAL_CLI_VERSION } from './settings';

export { processAlive } from '../tools/go-install';

export class TemporalCliError extends Error {
  override name = 'TemporalCliError';
}

const INSTALL_HINT =
  'Install the Temporal CLI (https://docs.temporal.io/cli#install) and put `temporal` on PATH, ' +
  'or set TEMPORAL_CLI to its path, or install Go (https://go.dev/dl/) so Strata can build it, ' +
  'or set TEMPORAL_ADDRESS to a running Temporal server.';

const TEMPORAL_CLI: GoTool = {
  tool: 'temporal',
  label: 'the Temporal CLI',
  version: TEMPORAL_CLI_VERSION,
  pkg: 'github.com/temporalio/cli/cmd/temporal',
  binary: 'temporal',
  installHint: INSTALL_HINT,
  makeError: (message) => new TemporalCliError(message),
  overrideVar: 'TEMPORAL_CLI',
  onPathName: 'temporal',
};

export function cachedCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return cachedToolPath(TEMPORAL_CLI, env);
}

/** The Temporal CLI if one is already here: TEMPORAL_CLI, then `temporal` on PATH, then the cache. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findGoTool(TEMPORAL_CLI, env);
}

/**
 * Finds the Temporal CLI, building it once with `go install` into the cache when there is none
 * (see goInstallCached: temporary GOBIN renamed into place, a lock against concurrent builds).
 */
export async function ensureTemporalCli(opts: GoInstallOptions = {}): Promise<string> {
  return findTemporalCli(opts.env ?? process.env) ?? goInstallCached(TEMPORAL_CLI, opts);
}

/** `temporal --version`, for diagnostics. */
export function temporalCliVersion(cli: string): string {
  const out = spawnSync(cli, ['--version'], { encoding: 'utf8' });
  return (out.stdout ?? '').trim();
}

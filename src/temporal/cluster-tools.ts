// The Temporal server and its SQL schema tool, built once from the Go module proxy into
// ~/.cache/strata/temporal-server/<version>/ (`server`, `sql`), like the CLI and Toxiproxy; and the
// standalone Temporal Web UI server into ~/.cache/strata/temporal-ui-server/<version>/server.
import { type GoInstallOptions, type GoTool, goInstallCached } from '../tools/go-install';

/** The Temporal server release `strata cluster` runs (same as docker-compose.yml). */
export const TEMPORAL_SERVER_VERSION = '1.29.1';

export class ClusterError extends Error {
  override name = 'ClusterError';
}

const INSTALL_HINT =
  'Install Go (https://go.dev/dl/) so Strata can build it, or run the Temporal server yourself ' +
  '(docker-compose.yml) and set TEMPORAL_ADDRESS.';

const tool = (pkg: string, binary: string, label: string): GoTool => ({
  tool: 'temporal-server',
  label,
  version: TEMPORAL_SERVER_VERSION,
  pkg,
  binary,
  installHint: INSTALL_HINT,
  makeError: (message) => new ClusterError(message),
});

export const TEMPORAL_SERVER = tool('go.temporal.io/server/cmd/server', 'server', 'the Temporal server');
export const TEMPORAL_SQL_TOOL = tool('go.temporal.io/server/cmd/tools/sql', 'sql', "the Temporal server's SQL tool");

/**
 * The standalone Web UI server `strata cluster up --ui-port` runs (its assets are embedded; the
 * Temporal CLI v1.5.1 embeds the same release, so its module is usually in the Go cache already).
 */
export const TEMPORAL_UI_SERVER_VERSION = '2.42.1';

export const TEMPORAL_UI_SERVER: GoTool = {
  tool: 'temporal-ui-server',
  label: 'the Temporal Web UI server',
  version: TEMPORAL_UI_SERVER_VERSION,
  pkg: 'github.com/temporalio/ui-server/v2/cmd/server',
  binary: 'server',
  installHint:
    'Install Go (https://go.dev/dl/) so Strata can build it, or run `strata cluster up` without --ui-port ' +
    '(the cluster needs no Web UI).',
  makeError: (message) => new ClusterError(message),
};

/** The Web UI server's path, building it once when it is not in the cache. */
export function ensureUiServerTool(opts: GoInstallOptions = {}): Promise<string> {
  return goInstallCached(TEMPORAL_UI_SERVER, opts);
}

/** Paths of the server and the SQL tool, building each once when it is not in the cache. */
export async function ensureClusterTools(opts: GoInstallOptions = {}): Promise<{ server: string; sql: string }> {
  const server = await goInstallCached(TEMPORAL_SERVER, opts);
  const sql = await goInstallCached(TEMPORAL_SQL_TOOL, opts);
  return { server, sql };
}

// The Temporal server's static config for `strata cluster`: PostgreSQL persistence and advanced
// visibility, the JWT authorizer, and all services in one process. Pure: data in, YAML out.
import { stringify } from 'yaml';
import { ClusterError } from './cluster-tools';

/** A PostgreSQL server as the Temporal server and its SQL tool need it. */
export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The persistence database; visibility uses `<database>_visibility`. */
  database: string;
  visibilityDatabase: string;
  /** Extra connection attributes from the URL's query (e.g. sslmode). */
  attributes: Record<string, string>;
}

/**
 * Reads `--postgres postgres://user:password@host:port/database?sslmode=...`. The database
 * defaults to `temporal`; visibility goes to `<database>_visibility`. A password may come from
 * PGPASSWORD instead of the URL.
 */
export function parsePostgresUrl(raw: string, env: NodeJS.ProcessEnv = process.env): PostgresTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ClusterError(`--postgres: expected a URL like postgres://user:password@host:5432/temporal, got "${raw}"`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ClusterError(`--postgres: expected a postgres:// URL, got the scheme "${url.protocol}"`);
  }
  if (!url.hostname) throw new ClusterError('--postgres: the URL names no host');
  const user = decodeURIComponent(url.username);
  if (!user) throw new ClusterError('--postgres: the URL names no user (postgres://USER:password@host/...)');
  const port = url.port ? Number(url.port) : 5432;
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const database = db === '' || db === 'postgres' ? 'temporal' : db;
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,50}$/.test(database)) {
    throw new ClusterError(`--postgres: database "${database}": expected letters, digits and _ (at most 51)`);
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    user,
    password: url.password ? decodeURIComponent(url.password) : (env.PGPASSWORD ?? ''),
    database,
    visibilityDatabase: `${database}_visibility`,
    attributes: Object.fromEntries(url.searchParams.entries()),
  };
}

/** The URL without its password, for status output and logs. */
export function redactedUrl(pg: PostgresTarget): string {
  return `postgres://${encodeURIComponent(pg.user)}@${pg.host}:${pg.port}/${pg.database}`;
}

/** Ports of the one server process: the frontend's is the address clients use; the rest are internal. */
export interface ClusterPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  internalFrontend: number;
  internalFrontendHttp: number;
  internalFrontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

export const INTERNAL_PORT_NAMES = [
  'frontendHttp',
  'frontendMembership',
  'internalFrontend',
  'internalFrontendHttp',
  'internalFrontendMembership',
  'history',
  'historyMembership',
  'matching',
  'matchingMembership',
  'worker',
  'workerMembership',
] as const satisfies readonly (keyof ClusterPorts)[];

export interface ServerConfigOptions {
  postgres: PostgresTarget;
  ports: ClusterPorts;
  /** The address the frontend listens on (127.0.0.1 by default; the other services stay on localhost). */
  ip: string;
  historyShards: number;
  /** Where the server fetches the public keys of Strata's tokens. */
  jwksUrl: string;
  dynamicConfigFile: string;
  logLevel?: string;
}

/** The services `strata cluster` runs in its one process. */
export const CLUSTER_SERVICES = ['frontend', 'internal-frontend', 'history', 'matching', 'worker'] as const;

export function renderServerConfig(o: ServerConfigOptions): string {
  const sql = (database: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${o.postgres.host.includes(':') ? `[${o.postgres.host}]` : o.postgres.host}:${o.postgres.port}`,
      connectProtocol: 'tcp',
      user: o.postgres.user,
      password: o.postgres.password,
      ...(Object.keys(o.postgres.attributes).length > 0 ? { connectAttributes: o.postgres.attributes } : {}),
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const local = (grpcPort: number, membershipPort: number, httpPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...(httpPort ? { httpPort } : {}) },
  });
  const p = o.ports;
  const config = {
    log: { stdout: true, level: o.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: o.historyShards,
      datastores: {
        'postgres-default': sql(o.postgres.database, 20),
        'postgres-visibility': sql(o.postgres.visibilityDatabase, 10),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      authorization: {
        jwtKeyProvider: { keySourceURIs: [o.jwksUrl], refreshInterval: '1m' },
        permissionsClaimName: 'permissions',
        authorizer: 'default',
        claimMapper: 'default',
      },
    },
    services: {
      frontend: {
        rpc: {
          grpcPort: p.frontend,
          membershipPort: p.frontendMembership,
          httpPort: p.frontendHttp,
          ...(o.ip === '127.0.0.1' || o.ip === 'localhost' ? { bindOnLocalHost: true } : { bindOnIP: o.ip }),
        },
      },
      // Without a token of its own, the server's worker service (schedules, batch jobs, namespace
      // deletion) reaches the frontend through this internal one, which the authorizer does not guard.
      'internal-frontend': local(p.internalFrontend, p.internalFrontendMembership, p.internalFrontendHttp),
      history: local(p.history, p.historyMembership),
      matching: local(p.matching, p.matchingMembership),
      worker: local(p.worker, p.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${p.frontend}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: o.dynamicConfigFile, pollInterval: '10s' },
  };
  return `# Written by \`strata cluster up\`; rewritten on every up (edit the flags, not this file).\n${stringify(config)}`;
}

/** Dynamic config the operator may edit (kept across ups): the server rereads it every 10 s. */
export const DEFAULT_DYNAMIC_CONFIG = `# Temporal dynamic config for \`strata cluster\` (kept across \`cluster up\`; reread every 10 s).
# Keys: https://github.com/temporalio/temporal/blob/v1.29.1/common/dynamicconfig/constants.go
limit.maxIDLength:
  - value: 255
`;

/**
 * The path the Web UI is served under, by the UI server itself (its `publicPath`) and by
 * `strata serve`'s proxy, which passes it through unchanged.
 */
export const TEMPORAL_UI_PATH = '/temporal';

export interface UiServerConfigOptions {
  /** The cluster's frontend, host:port. */
  temporalAddress: string;
  /** The port the UI server listens on (always on 127.0.0.1). */
  port: number;
  namespace: string;
}

/**
 * The Web UI server's config (`ui-config/strata.yaml`): loopback only, no token of its own and no
 * sign-in (a request reaching it directly carries no Authorization header, so the frontend's JWT
 * authorizer refuses it), every write action off. People reach it through `strata serve`, which
 * signs them in and adds a read-only token for each request.
 */
export function renderUiServerConfig(o: UiServerConfigOptions): string {
  const config = {
    temporalGrpcAddress: o.temporalAddress,
    host: '127.0.0.1',
    port: o.port,
    publicPath: TEMPORAL_UI_PATH,
    enableUi: true,
    defaultNamespace: o.namespace,
    showTemporalSystemNamespace: false,
    notifyOnNewVersion: false,
    feedbackUrl: '',
    bannerText: '',
    // Sign-in is strata serve's: the UI server's own OIDC login would hand people tokens Strata did not sign.
    auth: { enabled: false, providers: [] },
    // Same origin as strata serve, through its proxy: no cross-origin callers.
    cors: { allowOrigins: [], unsafeAllowAllOrigins: false, cookieInsecure: false },
    disableWriteActions: true,
    workflowTerminateDisabled: true,
    workflowCancelDisabled: true,
    workflowSignalDisabled: true,
    workflowUpdateDisabled: true,
    workflowResetDisabled: true,
    batchActionsDisabled: true,
    startWorkflowDisabled: true,
    activityCommandsDisabled: true,
    hideWorkflowQueryErrors: false,
    refreshWorkflowCountsDisabled: false,
    // Nothing but the Authorization header strata serve sets reaches the frontend (the UI server
    // always forwards it, and `authorization-extras`/`Caller-Type`, which the proxy never passes on).
    forwardHeaders: [],
    hideLogs: false,
  };
  return `# Written by \`strata cluster up --ui-port\`; rewritten on every up.\n${stringify(config)}`;
}

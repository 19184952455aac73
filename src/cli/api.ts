// strata serve | token create/ls/revoke | login: the API door and its credentials.

import fs from 'node:fs';
import type { Command } from 'commander';
import { type AccessPolicy, EMPTY_ACCESS, loadAccess, type OidcConfig } from '../api/access';
import type { BearerVerifier } from '../api/identity';
import { parseRole, ROLE_SYNTAX } from '../api/roles';
import { DEFAULT_UPLOAD_LIMIT_MIB } from '../api/upload';
import { ApiStore, expiryOf, type TokenRecord } from '../api/store';
import { connectClient } from '../temporal/connection';
import { loadSigningKey } from '../temporal/auth';
import { clusterDir } from '../temporal/cluster';
import { TEMPORAL_UI_PATH } from '../temporal/cluster-config';
import { loadSettings, type StrataSettings } from '../temporal/settings';
import type { TemporalUiOptions } from '../web/temporal-ui';
import { apiBase, callApi, storeCredentials } from './api-client';
import { command, type JsonOption } from './command';
import { print, printJson, printRows } from './context';
import { EXIT_FAILED, EXIT_OK, UsageError } from './errors';
import { localUser } from './ladders';

/** The options of the API commands. */
export interface ApiOptions {
  serve: {
    /** The address to listen on; a non-loopback one needs tokens or an OIDC issuer. @default 127.0.0.1 */
    host: string;
    /** The port. @default 8600 */
    port: string;
    /** The access policy (access.yaml): roles of OIDC groups, subjects and token names. @default none */
    access?: string;
    /** The largest candidate upload (strata promote in API mode), in MiB of base64 JSON. @default 64 */
    uploadLimit: string;
    /** The Temporal Web UI's origin, allowed to call /codec/* from a browser. */
    codecCorsOrigin?: string;
    /**
     * The Web UI server `strata cluster up --ui-port` runs (http://127.0.0.1:<port>): served read-only
     * at /temporal/ to signed-in web sessions, with tokens signed by the cluster's key in $STRATA_HOME.
     */
    temporalUi?: string;
  };
  tokenCreate: JsonOption & {
    /** The token's name (its subject: `strata-token#<name>`). */
    name: string;
    /** Its role: operator, steward, auditor, admin or approver:<group>. */
    role: string;
    /** How long it is valid, e.g. 30d. @default never expires */
    expires?: string;
  };
  tokenLs: JsonOption;
  tokenRevoke: JsonOption;
  login: {
    /** The API token to store. */
    token: string;
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * The OIDC verifier for access.yaml's `oidc` (src/api/oidc.ts): discovery is read at start, so a
 * wrong or unreachable issuer stops `strata serve` with exit 2 instead of refusing every token later.
 */
async function oidcVerifier(config: OidcConfig): Promise<BearerVerifier> {
  // Loaded here, not at the top: only `strata serve` needs jose and fastify (src/cli/lazy.ts says why).
  const { createOidcVerifier, OidcConfigError, OidcUnavailable } = await import('../api/oidc');
  let verifier;
  try {
    verifier = createOidcVerifier(config);
    await verifier.discover();
  } catch (err) {
    if (err instanceof OidcConfigError || err instanceof OidcUnavailable) {
      throw new UsageError(`access.yaml: oidc: ${(err as Error).message}`);
    }
    throw err;
  }
  return (token) => verifier.verify(token);
}

/**
 * `--temporal-ui <url>`: the UI server's origin, the cluster's signing key from $STRATA_HOME/cluster
 * (the cluster trusts no other), and a web sign-in to admit people by (exit 2 without one of them).
 */
function temporalUiOf(raw: string, access: AccessPolicy, settings: StrataSettings): TemporalUiOptions {
  if (!/^https?:\/\/[^/\s?#]+\/?$/.test(raw))
    throw new UsageError(`--temporal-ui: expected the UI server's URL such as http://127.0.0.1:8233 (got "${raw}")`);
  if (!access.oidc?.webClientId)
    throw new UsageError(
      '--temporal-ui: only people signed in to the web inbox may open the UI, and this server has no sign-in; ' +
        'set oidc.webClientId in access.yaml (--access)',
    );
  let key;
  try {
    key = loadSigningKey(clusterDir(settings.home));
  } catch (err) {
    throw new UsageError(`--temporal-ui: ${(err as Error).message}`);
  }
  return { url: raw.replace(/\/$/, ''), key, namespace: settings.namespace };
}

function describeToken(t: TokenRecord): string[] {
  const state = t.revokedAt
    ? `revoked ${t.revokedAt}`
    : t.expiresAt && Date.parse(t.expiresAt) <= Date.now()
      ? 'expired'
      : 'live';
  return [t.name, t.role, state, t.expiresAt ?? 'never', t.createdBy, t.createdAt];
}

export function registerApiCommands(program: Command): void {
  command(
    program,
    'serve',
    'the HTTP API (OpenAPI at /openapi.json, docs at /docs): bearer tokens, roles, audit of refusals',
  )
    .options<ApiOptions['serve']>({
      host: { argument: '<host>', description: 'listen address', default: '127.0.0.1' },
      port: { argument: '<port>', description: 'port', default: '8600' },
      access: { argument: '<file>', description: 'access policy (access.yaml)' },
      uploadLimit: {
        argument: '<MiB>',
        description: 'largest candidate upload (base64 JSON), in MiB',
        default: String(DEFAULT_UPLOAD_LIMIT_MIB),
      },
      codecCorsOrigin: {
        argument: '<origin>',
        description: "the Temporal Web UI's origin (e.g. http://127.0.0.1:8233) allowed to call /codec/decode",
      },
      temporalUi: {
        argument: '<url>',
        description:
          'the Web UI server of `strata cluster up --ui-port` (http://127.0.0.1:<port>): ' +
          'served read-only at /temporal/ to people signed in to the web inbox',
      },
    })
    .action(async (opts) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new UsageError(`--port: expected a port number 0-65535 (got "${opts.port}")`);
      }
      if (opts.codecCorsOrigin !== undefined && !/^https?:\/\/[^/\s]+$/.test(opts.codecCorsOrigin))
        throw new UsageError(
          `--codec-cors-origin: expected an origin such as http://127.0.0.1:8233 (got "${opts.codecCorsOrigin}")`,
        );
      const uploadLimitMiB = Number(opts.uploadLimit);
      if (!(uploadLimitMiB > 0 && uploadLimitMiB <= 4096))
        throw new UsageError(`--upload-limit: expected a number of MiB in (0, 4096] (got "${opts.uploadLimit}")`);
      const access: AccessPolicy = opts.access ? loadAccess(opts.access) : EMPTY_ACCESS;
      const settings = loadSettings();
      const temporalUi = opts.temporalUi === undefined ? undefined : temporalUiOf(opts.temporalUi, access, settings);
      const store = new ApiStore(settings.home);
      if (!LOOPBACK.test(opts.host) && !access.oidc && !store.hasLiveTokens()) {
        store.close();
        throw new UsageError(
          `--host ${opts.host}: refusing to listen beyond loopback with no way to authenticate; ` +
            'configure an oidc issuer in access.yaml or create a token (strata token create)',
        );
      }
      const oidc = access.oidc ? await oidcVerifier(access.oidc) : undefined;
      if (oidc) process.stderr.write(`strata: accepting OIDC tokens from ${access.oidc!.issuer}\n`);
      const { client, connection } = await connectClient(settings);
      const { buildServer } = await import('../api/server');
      const app = await buildServer({
        client,
        home: settings.home,
        taskQueue: settings.taskQueue,
        artifacts: settings.paths.artifacts,
        store,
        access,
        oidc,
        uploadLimitMiB,
        ...(opts.codecCorsOrigin ? { codecCorsOrigin: opts.codecCorsOrigin } : {}),
        ...(temporalUi ? { temporalUi } : {}),
      });
      const address = await app.listen({ host: opts.host, port });
      process.stderr.write(`strata: API on ${address} (OpenAPI ${address}/openapi.json, docs ${address}/docs)\n`);
      if (temporalUi)
        process.stderr.write(
          `strata: Temporal Web UI (read-only, signed-in people) at ${address}${TEMPORAL_UI_PATH}/ ` +
            `from ${temporalUi.url}\n`,
        );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await app.close();
      await connection.close();
      store.close();
      return EXIT_OK;
    });

  const token = program
    .command('token')
    .description('API tokens for automation: create, ls, revoke (admin in API mode)');

  command(token, 'create', 'create an API token; prints it once (only its hash is stored)')
    .options<ApiOptions['tokenCreate']>({
      name: { argument: '<name>', description: 'its name', required: true },
      role: { argument: '<role>', description: ROLE_SYNTAX, required: true },
      expires: { argument: '<duration>', description: 'valid for, e.g. 30d (default: never expires)' },
      json: { description: 'print JSON' },
    })
    .action(async (opts) => {
      const role = parseRole(opts.role);
      if (!role) throw new UsageError(`--role: expected ${ROLE_SYNTAX} (got "${opts.role}")`);
      if (apiBase()) {
        const created = await callApi<{ name: string; token: string; expiresAt: string | null }>('POST', '/tokens', {
          name: opts.name,
          role,
          ...(opts.expires ? { expires: opts.expires } : {}),
        });
        if (opts.json) printJson(created);
        else print(created.token);
        return EXIT_OK;
      }
      const expiresAt = opts.expires ? expiryOf(opts.expires) : undefined;
      const store = new ApiStore(loadSettings().home);
      try {
        const secret = store.createToken({ name: opts.name, role, createdBy: `local:${localUser()}`, expiresAt });
        if (opts.json) printJson({ name: opts.name, role, token: secret, expiresAt: expiresAt?.toISOString() ?? null });
        else {
          print(secret);
          process.stderr.write(`strata: token ${opts.name} (${role}) created; it is shown once and not stored\n`);
        }
      } finally {
        store.close();
      }
      return EXIT_OK;
    });

  command(token, 'ls', 'API tokens: name, role, state, expiry (never the tokens)')
    .options<ApiOptions['tokenLs']>({ json: { description: 'print JSON' } })
    .action(async (opts) => {
      const rows = apiBase() ? await callApi<TokenRecord[]>('GET', '/tokens') : withStore((s) => s.listTokens());
      printRows(rows, {
        json: opts.json,
        empty: 'no tokens (strata token create --name NAME --role ROLE)',
        header: ['NAME', 'ROLE', 'STATE', 'EXPIRES', 'CREATED BY', 'AT'],
        row: describeToken,
      });
      return EXIT_OK;
    });

  command(token, 'revoke <name>', 'revoke an API token: the next request with it gets 401')
    .options<ApiOptions['tokenRevoke']>({ json: { description: 'print JSON' } })
    .action(async (name, opts) => {
      if (apiBase()) await callApi('DELETE', `/tokens/${encodeURIComponent(name)}`);
      else if (!withStore((s) => s.revokeToken(name))) {
        process.stderr.write(`strata: no live token named "${name}" (strata token ls)\n`);
        return EXIT_FAILED;
      }
      if (opts.json) printJson({ name, revoked: true });
      else print(`revoked token ${name}`);
      return EXIT_OK;
    });

  command(program, 'login', 'store an API token in ~/.config/strata/credentials (mode 600) for API mode')
    .options<ApiOptions['login']>({ token: { argument: '<token>', description: 'the API token', required: true } })
    .action((opts) => {
      if (!opts.token.trim()) throw new UsageError('--token: expected a token');
      const file = storeCredentials(opts.token.trim());
      print(`stored in ${file}`);
      if (!apiBase())
        process.stderr.write('strata: set STRATA_API to the server (e.g. http://127.0.0.1:8600) to use it\n');
      return EXIT_OK;
    });
}

function withStore<T>(fn: (store: ApiStore) => T): T {
  const home = loadSettings().home;
  if (!fs.existsSync(home)) fs.mkdirSync(home, { recursive: true });
  const store = new ApiStore(home);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

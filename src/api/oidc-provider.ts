// The OpenID provider Strata's tests (and a local trial of `strata serve`) run: a real provider
// process, not JWTs minted in a test. It is zitadel/oidc v3's example OP, wrapped by the small main
// package in tools/oidc-provider/ (JWT access tokens with an API audience and `groups`, fixed
// clients and users, 127.0.0.1 only; see its main.go). Built once per machine from the Go module
// proxy with `go build` in that module, into ~/.cache/strata/oidc-provider/<version>/, like the
// Temporal CLI and Toxiproxy.
//
// Why not Ory Hydra v2.3.0: Hydra needs a separate login-and-consent app (or a script playing one
// against its admin API), a database DSN and a far larger build; this OP is one small binary with a
// built-in login form, so client credentials and authorization code + PKCE are plain HTTP requests.

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { cachedToolPath, type GoInstallOptions, type GoTool, goInstallCached, processAlive } from '../tools/go-install';

/** The zitadel/oidc module version tools/oidc-provider/go.mod pins. */
export const ZITADEL_OIDC_VERSION = '3.52.0';

/** The Go module of the provider's main package. */
export const OIDC_PROVIDER_MODULE_DIR = path.resolve(__dirname, '../../tools/oidc-provider');

/** The fixed clients and users of the provider (tools/oidc-provider/main.go). */
export const OIDC_TEST_PROVIDER = {
  /** Public client: authorization code + PKCE (S256). */
  cliClientId: 'strata-cli',
  /** Confidential client: client credentials. */
  ciClientId: 'strata-ci',
  ciClientSecret: 'strata-ci-secret',
  ciGroups: ['automation'],
  users: {
    alice: {
      password: 'alice-password',
      subject: 'user-alice',
      email: 'alice@example.test',
      groups: ['approvers-prod', 'operators'],
    },
    bob: { password: 'bob-password', subject: 'user-bob', email: 'bob@example.test', groups: ['data-stewards'] },
  },
} as const;

export class OidcProviderError extends Error {
  override name = 'OidcProviderError';
}

/** The build's version: the pinned library plus a hash of the module's sources, so an edit rebuilds. */
export function oidcProviderVersion(moduleDir = OIDC_PROVIDER_MODULE_DIR): string {
  const hash = crypto.createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) {
    const full = path.join(moduleDir, file);
    let text: Buffer;
    try {
      text = fs.readFileSync(full);
    } catch (err) {
      throw new OidcProviderError(`cannot read ${full}: ${(err as Error).message}`);
    }
    hash.update(file).update('\0').update(text).update('\0');
  }
  return `${ZITADEL_OIDC_VERSION}-${hash.digest('hex').slice(0, 12)}`;
}

function providerTool(moduleDir = OIDC_PROVIDER_MODULE_DIR): GoTool {
  return {
    tool: 'oidc-provider',
    label: 'the test OpenID provider (zitadel/oidc example OP)',
    version: oidcProviderVersion(moduleDir),
    pkg: `github.com/zitadel/oidc/v3/example/server (v${ZITADEL_OIDC_VERSION}, wrapped by ${moduleDir})`,
    moduleDir,
    binary: 'strata-oidc-provider',
    installHint:
      'Install Go (https://go.dev/dl/) so Strata can build it, or set STRATA_OIDC_PROVIDER to a build of ' +
      `${moduleDir} (\`go build -o strata-oidc-provider .\` there).`,
    makeError: (message) => new OidcProviderError(message),
    overrideVar: 'STRATA_OIDC_PROVIDER',
  };
}

/** Where the build lives: ~/.cache/strata/oidc-provider/<version>/strata-oidc-provider. */
export function cachedOidcProviderPath(env: NodeJS.ProcessEnv = process.env, moduleDir?: string): string {
  return cachedToolPath(providerTool(moduleDir), env);
}

/** STRATA_OIDC_PROVIDER, else the cached build, building it once (progress on stderr) when there is none. */
export async function ensureOidcProvider(opts: GoInstallOptions & { moduleDir?: string } = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const override = env.STRATA_OIDC_PROVIDER;
  if (override) {
    if (!fs.existsSync(override)) throw new OidcProviderError(`STRATA_OIDC_PROVIDER=${override} does not exist`);
    return override;
  }
  return goInstallCached(providerTool(opts.moduleDir), opts);
}

export interface StartOidcProviderOptions {
  port: number;
  /** Provider output is appended here. */
  logFile: string;
  /** Added to every access token's `aud`. Default "strata". */
  audience?: string;
  /** Redirect URIs allowed for the strata-cli client. Default http://127.0.0.1/callback. */
  redirectUris?: string[];
  /** The binary; default ensureOidcProvider(). */
  binary?: string;
  /** How long to wait for discovery to answer. Default 15 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunningOidcProvider {
  /** http://127.0.0.1:<port>: the `iss` of its tokens. */
  issuer: string;
  audience: string;
  pid: number;
  /** SIGTERM, SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

/** Starts the provider and waits until /.well-known/openid-configuration answers. */
export async function startOidcProvider(opts: StartOidcProviderOptions): Promise<RunningOidcProvider> {
  const env = opts.env ?? process.env;
  const binary = opts.binary ?? (await ensureOidcProvider({ env }));
  const issuer = `http://127.0.0.1:${opts.port}`;
  const audience = opts.audience ?? 'strata';
  if (await discoveryAnswers(issuer)) {
    throw new OidcProviderError(`something already answers at ${issuer}: port ${opts.port} is in use`);
  }
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const log = fs.openSync(opts.logFile, 'a');
  const child = spawn(binary, [], {
    stdio: ['ignore', log, log],
    env: {
      ...env,
      PORT: String(opts.port),
      OIDC_AUDIENCE: audience,
      REDIRECT_URI: (opts.redirectUris ?? ['http://127.0.0.1/callback']).join(','),
    },
  });
  fs.closeSync(log);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal ?? `code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      exit = `error ${err.message}`;
      resolve();
    });
  });
  const pid = child.pid;
  const stop = async (): Promise<void> => {
    if (exit || pid === undefined) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => processAlive(pid) && child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };

  const timeoutMs = opts.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exit) {
      throw new OidcProviderError(
        `the OpenID provider (${binary}) exited (${exit}) before ${issuer}/.well-known/openid-configuration ` +
          `answered; is port ${opts.port} in use? Last lines of ${opts.logFile}:\n${tail(opts.logFile)}`,
      );
    }
    if (await discoveryAnswers(issuer)) return { issuer, audience, pid: pid!, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new OidcProviderError(
        `the OpenID provider did not answer at ${issuer} within ${timeoutMs} ms; see ${opts.logFile}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function discoveryAnswers(issuer: string): Promise<boolean> {
  try {
    const res = await request(`${issuer}/.well-known/openid-configuration`, {
      headersTimeout: 1000,
      bodyTimeout: 1000,
    });
    await res.body.text();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

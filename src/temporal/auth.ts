// Tokens for a Temporal cluster with the JWT authorizer (`strata cluster`): Strata keeps one ES256
// signing key under $STRATA_HOME/cluster (mode 600), serves its public half as a JWKS to the
// server, and signs tokens in the shape of Temporal's default claim mapper:
// `{ sub, permissions: ["<namespace>:<read|write|admin>"] }`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomically } from '../tools/files';

/** The identities Strata runs as; only these may write in the namespace. */
export const SERVICE_IDENTITIES = ['worker', 'api'] as const;
export type ServiceIdentity = (typeof SERVICE_IDENTITIES)[number];

/** Temporal's name for cluster-wide permissions in the default claim mapper. */
export const SYSTEM_SCOPE = 'temporal-system';

export type Permission = 'read' | 'write' | 'admin';

export interface SigningKey {
  kid: string;
  privateKey: crypto.KeyObject;
  publicJwk: crypto.JsonWebKey;
}

export class TokenError extends Error {
  override name = 'TokenError';
}

/**
 * The signing key in `dir`, created on first use: `signing-key.pem` (PKCS#8, mode 600) and
 * `jwks.json` (its public half, what the server reads). The key id is derived from the key.
 */
export function ensureSigningKey(dir: string): SigningKey {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pemFile = path.join(dir, 'signing-key.pem');
  if (!fs.existsSync(pemFile)) {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileAtomically(pemFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  }
  const mode = fs.statSync(pemFile).mode & 0o777;
  if (mode & 0o077) fs.chmodSync(pemFile, 0o600); // a copied key keeps no group/other access
  const key = keyOf(fs.readFileSync(pemFile));
  const jwks = { keys: [{ ...key.publicJwk, kid: key.kid, alg: 'ES256', use: 'sig' }] };
  writeFileAtomically(path.join(dir, 'jwks.json'), `${JSON.stringify(jwks, null, 2)}\n`);
  return key;
}

/**
 * The signing key `strata cluster up` made in `dir`, without making one: for `strata serve`, whose
 * tokens a cluster trusts only when they are signed with that cluster's key.
 */
export function loadSigningKey(dir: string): SigningKey {
  const pemFile = path.join(dir, 'signing-key.pem');
  let pem: Buffer;
  try {
    pem = fs.readFileSync(pemFile);
  } catch (err) {
    throw new TokenError(
      `cannot read the cluster's signing key ${pemFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ` +
        'run `strata cluster up` with this STRATA_HOME first',
    );
  }
  return keyOf(pem);
}

function keyOf(pem: Buffer): SigningKey {
  const privateKey = crypto.createPrivateKey(pem);
  const publicJwk = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = crypto
    .createHash('sha256')
    .update(JSON.stringify([publicJwk.x, publicJwk.y]))
    .digest('hex')
    .slice(0, 16);
  return { kid, privateKey, publicJwk };
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** A signed JWT with the given subject and permissions; `ttlSeconds` sets `exp`. */
export function signToken(
  key: SigningKey,
  claims: { subject: string; permissions: string[]; ttlSeconds: number },
  now = Date.now(),
): string {
  const iat = Math.floor(now / 1000);
  const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: key.kid }));
  const payload = b64url(
    JSON.stringify({ sub: claims.subject, permissions: claims.permissions, iat, exp: iat + claims.ttlSeconds }),
  );
  const signature = crypto.sign('sha256', Buffer.from(`${header}.${payload}`), {
    key: key.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  return `${header}.${payload}.${b64url(signature)}`;
}

const DAY_S = 86_400;

/** A service identity's token: write in the namespace (what workers and the API server need). */
export function serviceToken(key: SigningKey, identity: ServiceIdentity, namespace: string, ttlDays = 365): string {
  return signToken(key, {
    subject: `strata-${identity}`,
    permissions: [`${namespace}:write`],
    ttlSeconds: ttlDays * DAY_S,
  });
}

/** A person's token: read in the namespace, never more. */
export function readerToken(key: SigningKey, subject: string, namespace: string, ttlHours = 12): string {
  if (!/^[A-Za-z0-9._@-]{1,128}$/.test(subject)) {
    throw new TokenError(`subject: expected letters, digits, . _ @ - (1-128 characters), got "${subject}"`);
  }
  if (SERVICE_IDENTITIES.some((s) => subject === `strata-${s}`)) {
    throw new TokenError(`subject: "${subject}" is a service identity; use --service ${subject.slice(7)}`);
  }
  return signToken(key, { subject, permissions: [`${namespace}:read`], ttlSeconds: ttlHours * 3600 });
}

/**
 * A signed-in person's token for the Web UI behind `strata serve`: read in the namespace, short-lived,
 * its subject the person's verified actor (`<issuer>#<subject>`, which no service identity has).
 */
export function webReaderToken(key: SigningKey, actor: string, namespace: string, ttlSeconds = 300): string {
  if (!actor.includes('#')) throw new TokenError(`actor: expected <issuer>#<subject>, got "${actor}"`);
  return signToken(key, { subject: actor, permissions: [`${namespace}:read`], ttlSeconds });
}

/**
 * What the Web UI behind `strata serve` needs beyond the namespace, for one call only: GetClusterInfo
 * (the server's version and visibility store, which the UI reads on load) is cluster-scoped, so a
 * namespace reader may not make it. `serve` attaches this token to that one route and no other.
 */
export function webClusterInfoToken(key: SigningKey, actor: string, ttlSeconds = 300): string {
  if (!actor.includes('#')) throw new TokenError(`actor: expected <issuer>#<subject>, got "${actor}"`);
  return signToken(key, { subject: actor, permissions: [`${SYSTEM_SCOPE}:read`], ttlSeconds });
}

/** Cluster-wide admin, short-lived: what `cluster up` uses to register the namespace and its attributes. */
export function adminToken(key: SigningKey, ttlSeconds = 300): string {
  return signToken(key, { subject: 'strata-cluster-admin', permissions: [`${SYSTEM_SCOPE}:admin`], ttlSeconds });
}

/** The token for connections, from STRATA_TEMPORAL_TOKEN or the file STRATA_TEMPORAL_TOKEN_FILE names. */
export function tokenFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.STRATA_TEMPORAL_TOKEN) return env.STRATA_TEMPORAL_TOKEN.trim();
  const file = env.STRATA_TEMPORAL_TOKEN_FILE;
  if (!file) return undefined;
  try {
    const token = fs.readFileSync(file, 'utf8').trim();
    if (!token) throw new TokenError(`STRATA_TEMPORAL_TOKEN_FILE=${file}: the file is empty`);
    return token;
  } catch (err) {
    if (err instanceof TokenError) throw err;
    throw new TokenError(`STRATA_TEMPORAL_TOKEN_FILE=${file}: cannot read it (${(err as Error).message})`);
  }
}

// Verifying bearer JWTs from an OpenID Connect issuer for `strata serve`: the issuer's discovery
// document names its JWKS, `jose` checks the signature against those keys (refetched when an unknown
// key id shows up, for key rotation) and the issuer, audience, expiry and not-before, with
// algorithms from an allow-list (never `none`, never a shared-secret HMAC).
//
// Refusals throw TokenRejected with a reason code and a message for people; the message names the
// configured issuer/audience and the failed check, never the token or its claim values.

import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { request } from 'undici';
import type { VerifiedIdentity } from './identity';

/** Asymmetric JWS algorithms a verifier may allow. */
export const SUPPORTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export const DEFAULT_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];
export const DEFAULT_CLOCK_TOLERANCE_SEC = 30;
const MAX_CLOCK_TOLERANCE_SEC = 300;

export type TokenRejectedReason =
  | 'malformed' // not a compact JWS/JWT
  | 'algorithm-not-allowed' // `alg` not in the allow-list (`none`, HS256, …)
  | 'unknown-key' // no key in the issuer's JWKS has this `kid`/algorithm
  | 'bad-signature' // the signature does not verify (tampered, or signed by another key)
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-issuer'
  | 'wrong-audience'
  | 'invalid-claims'; // a required claim missing or of the wrong type

/** A bearer token that is not accepted: the API answers 401. */
export class TokenRejected extends Error {
  override name = 'TokenRejected';
  constructor(
    readonly reason: TokenRejectedReason,
    message: string,
  ) {
    super(`token refused (${reason}): ${message}`);
  }
}

/** The verifier's configuration is wrong (a usage/config error: exit 2 at `strata serve` start). */
export class OidcConfigError extends Error {
  override name = 'OidcConfigError';
}

/** The issuer's discovery document or JWKS cannot be had: not the token's fault (the API answers 503). */
export class OidcUnavailable extends Error {
  override name = 'OidcUnavailable';
}

export interface OidcVerifierOptions {
  /** The issuer URL exactly as in the tokens' `iss` (https, or http on a loopback address). */
  issuer: string;
  /** The audience (`aud`) a token must name: the API's identifier; any one of several. */
  audience: string | string[];
  /** Allowed JWS algorithms; default RS256, ES256, EdDSA. `none` and HMAC are refused. */
  algorithms?: string[];
  /** The claim shown for people (email, name, preferred_username); default `email`, else the subject. */
  displayClaim?: string;
  /** The claim holding group names (a string array or one string); default `groups`. */
  groupsClaim?: string;
  /** Seconds of clock skew tolerated on exp/nbf; default 30, at most 300. */
  clockToleranceSec?: number;
  /**
   * The JWKS URL, skipping discovery (for issuers without a discovery document). The issuer is
   * still checked on every token.
   */
  jwksUri?: string;
  /** Time for one discovery or JWKS request; default 5 s. */
  timeoutMs?: number;
  /** The clock the expiry and not-before checks use; default the system clock. */
  clock?: () => Date;
}

export interface OidcVerifier {
  readonly issuer: string;
  /** The identity behind a bearer JWT; throws TokenRejected, or OidcUnavailable when the keys cannot be had. */
  verify(token: string): Promise<VerifiedIdentity>;
  /** Fetches discovery now (e.g. at server start), so a wrong issuer fails fast; returns the JWKS URL. */
  discover(): Promise<string>;
}

interface Config {
  issuer: string;
  audience: string[];
  algorithms: string[];
  displayClaim: string;
  groupsClaim: string;
  clockToleranceSec: number;
  timeoutMs: number;
}

/** Checks the options; throws OidcConfigError naming the field. */
function validate(opts: OidcVerifierOptions): Config {
  let url: URL;
  try {
    url = new URL(opts.issuer);
  } catch {
    throw new OidcConfigError(`oidc.issuer: "${opts.issuer}" is not a URL`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new OidcConfigError(`oidc.issuer: "${opts.issuer}" must be https (plain http only on a loopback address)`);
  }
  if (url.search || url.hash) throw new OidcConfigError(`oidc.issuer: "${opts.issuer}" must have no query or fragment`);
  const audience = (Array.isArray(opts.audience) ? opts.audience : [opts.audience]).filter((a) => a.length > 0);
  if (audience.length === 0) throw new OidcConfigError('oidc.audience: at least one audience is required');
  const algorithms = opts.algorithms ?? DEFAULT_ALGORITHMS;
  if (algorithms.length === 0) throw new OidcConfigError('oidc.algorithms: the allow-list is empty');
  for (const alg of algorithms) {
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new OidcConfigError(
        `oidc.algorithms: "${alg}" is not allowed (use asymmetric ones: ${SUPPORTED_ALGORITHMS.join(', ')}; ` +
          'never none or HMAC)',
      );
    }
  }
  const tolerance = opts.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
  if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > MAX_CLOCK_TOLERANCE_SEC) {
    throw new OidcConfigError(`oidc.clockToleranceSec: ${tolerance} must be between 0 and ${MAX_CLOCK_TOLERANCE_SEC}`);
  }
  return {
    issuer: opts.issuer,
    audience,
    algorithms: [...algorithms],
    displayClaim: opts.displayClaim ?? 'email',
    groupsClaim: opts.groupsClaim ?? 'groups',
    clockToleranceSec: tolerance,
    timeoutMs: opts.timeoutMs ?? 5_000,
  };
}

/** The discovery document's jwks_uri, after checking that it names this issuer exactly. */
export async function discoverJwksUri(issuer: string, timeoutMs = 5_000): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let doc: unknown;
  try {
    const res = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`HTTP ${res.statusCode}`);
    }
    doc = await res.body.json();
  } catch (err) {
    throw new OidcUnavailable(`cannot read the OIDC discovery document ${url}: ${(err as Error).message}`);
  }
  const { issuer: docIssuer, jwks_uri: jwksUri } = (doc ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
  if (docIssuer !== issuer) {
    throw new OidcConfigError(
      `oidc.issuer: "${issuer}" differs from the issuer "${String(docIssuer)}" in ${url}; ` +
        'they must be identical (as are the tokens\' "iss")',
    );
  }
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri)) {
    throw new OidcUnavailable(`${url} has no valid jwks_uri`);
  }
  return jwksUri;
}

/** A verifier for bearer JWTs of one issuer and audience. Discovery happens on first use (or discover()). */
export function createOidcVerifier(opts: OidcVerifierOptions): OidcVerifier {
  const cfg = validate(opts);
  const clock = opts.clock;
  let keys: Promise<{ jwksUri: string; getKey: JWTVerifyGetKey }> | undefined;

  const load = () => {
    keys ??= (async () => {
      const jwksUri = opts.jwksUri ?? (await discoverJwksUri(cfg.issuer, cfg.timeoutMs));
      return { jwksUri, getKey: createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: cfg.timeoutMs }) };
    })();
    // A failed discovery is not kept: the next request tries again.
    keys.catch(() => (keys = undefined));
    return keys;
  };

  const verify = async (token: string): Promise<VerifiedIdentity> => {
    if (typeof token !== 'string' || token.split('.').length !== 3) {
      throw new TokenRejected('malformed', 'a bearer token must be a compact JWT (three dot-separated parts)');
    }
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new TokenRejected('malformed', 'the JWT header is not base64url-encoded JSON');
    }
    if (typeof alg !== 'string' || !cfg.algorithms.includes(alg)) {
      throw new TokenRejected(
        'algorithm-not-allowed',
        `alg ${JSON.stringify(alg)} is not in the allow-list (${cfg.algorithms.join(', ')})`,
      );
    }
    const { getKey } = await load();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        issuer: cfg.issuer,
        audience: cfg.audience,
        algorithms: cfg.algorithms,
        clockTolerance: cfg.clockToleranceSec,
        requiredClaims: ['iss', 'sub', 'aud', 'exp'],
        ...(clock ? { currentDate: clock() } : {}),
      }));
    } catch (err) {
      throw rejection(err, cfg);
    }
    return identityOf(payload, cfg);
  };

  return { issuer: cfg.issuer, verify, discover: async () => (await load()).jwksUri };
}

/** A jose error as a TokenRejected (or OidcUnavailable when the JWKS could not be fetched). */
function rejection(err: unknown, cfg: Config): Error {
  if (err instanceof joseErrors.JWTExpired) {
    return new TokenRejected(
      'expired',
      `the token expired (exp), beyond ${cfg.clockToleranceSec} s of clock tolerance`,
    );
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return new TokenRejected(
          'not-yet-valid',
          `the token is not valid yet (nbf), beyond ${cfg.clockToleranceSec} s`,
        );
      case 'iss':
        return new TokenRejected('wrong-issuer', `the token's issuer (iss) is not ${cfg.issuer}`);
      case 'aud':
        return new TokenRejected(
          'wrong-audience',
          `the token's audience (aud) does not name ${cfg.audience.join(' or ')}`,
        );
      default:
        return new TokenRejected('invalid-claims', `claim "${err.claim}": ${err.message}`);
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) {
    return new TokenRejected(
      'algorithm-not-allowed',
      `the algorithm is not in the allow-list (${cfg.algorithms.join(', ')})`,
    );
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) {
    return new TokenRejected('unknown-key', `no key in the JWKS of ${cfg.issuer} matches the token's kid and alg`);
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new TokenRejected('bad-signature', `the signature does not verify with the keys of ${cfg.issuer}`);
  }
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) {
    return new OidcUnavailable(`cannot fetch the JWKS of ${cfg.issuer}: ${err.message}`);
  }
  if (
    err instanceof joseErrors.JWSInvalid ||
    err instanceof joseErrors.JWTInvalid ||
    err instanceof joseErrors.JOSENotSupported ||
    err instanceof joseErrors.JWKSMultipleMatchingKeys
  ) {
    return new TokenRejected('malformed', err.message);
  }
  if (err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC') {
    // jose's remote JWKS: a non-200 answer or a body that is not JSON
    return new OidcUnavailable(`cannot fetch the JWKS of ${cfg.issuer}: ${err.message}`);
  }
  if (err instanceof joseErrors.JOSEError) return new TokenRejected('malformed', err.message);
  // fetch failures of the JWKS (connection refused, HTTP errors) are not the token's fault
  return new OidcUnavailable(`cannot verify against the JWKS of ${cfg.issuer}: ${(err as Error).message}`);
}

function identityOf(payload: JWTPayload, cfg: Config): VerifiedIdentity {
  const subject = payload.sub;
  if (typeof subject !== 'string' || subject.length === 0) {
    throw new TokenRejected('invalid-claims', 'claim "sub" must be a non-empty string');
  }
  const rawGroups = payload[cfg.groupsClaim];
  let groups: string[];
  if (rawGroups === undefined) groups = [];
  else if (typeof rawGroups === 'string') groups = [rawGroups];
  else if (Array.isArray(rawGroups) && rawGroups.every((g) => typeof g === 'string')) groups = [...rawGroups];
  else throw new TokenRejected('invalid-claims', `claim "${cfg.groupsClaim}" must be a string or an array of strings`);
  const shown = payload[cfg.displayClaim];
  return {
    issuer: cfg.issuer,
    subject,
    display: typeof shown === 'string' && shown.length > 0 ? shown : subject,
    groups,
    via: 'oidc',
  };
}

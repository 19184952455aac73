// Signing in to the web inbox: OpenID Connect authorization code + PKCE (S256) against the issuer
// of access.yaml's `oidc`, as a public client (`oidc.webClientId`). The server keeps the state, the
// nonce and the PKCE verifier of each attempt; the identity comes from the access token, verified by
// the same verifier as the API's bearer tokens (issuer + subject), and the ID token is verified with
// jose as well (audience = the client, the nonce of this attempt, the same subject).

import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { request } from 'undici';
import type { BearerVerifier, VerifiedIdentity } from '../api/identity';
import { createOidcVerifier, type OidcVerifier } from '../api/oidc';
import type { OidcConfig } from '../api/access';
import type { PendingLogin } from './session';

export class SignInError extends Error {
  override name = 'SignInError';
}

interface Endpoints {
  authorization: string;
  token: string;
}

export interface WebLogin {
  clientId: string;
  /** The URL to send the browser to for one sign-in attempt. */
  authorizationUrl(login: PendingLogin): Promise<string>;
  /** Exchanges the callback's code; the verified identity and when its access token expires (ms). */
  finish(login: PendingLogin, code: string): Promise<{ identity: VerifiedIdentity; expiresAt: number }>;
}

const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export function createWebLogin(config: OidcConfig & { webClientId: string }, verifyAccess: BearerVerifier): WebLogin {
  let endpoints: Promise<Endpoints> | undefined;
  const discover = () => {
    endpoints ??= (async () => {
      const url = `${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const res = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new SignInError(`cannot read ${url}: HTTP ${res.statusCode}`);
      }
      const doc = (await res.body.json()) as Record<string, unknown>;
      const { authorization_endpoint: authorization, token_endpoint: token } = doc;
      if (typeof authorization !== 'string' || typeof token !== 'string')
        throw new SignInError(`${url} names no authorization_endpoint or token_endpoint`);
      return { authorization, token };
    })();
    endpoints.catch(() => (endpoints = undefined));
    return endpoints;
  };
  // The ID token is for this client: its own audience, checked with the issuer's keys by oidc.ts.
  const idTokens: OidcVerifier = createOidcVerifier({
    issuer: config.issuer,
    audience: config.webClientId,
    algorithms: config.algorithms,
  });

  return {
    clientId: config.webClientId,
    async authorizationUrl(login) {
      const url = new URL((await discover()).authorization);
      url.search = new URLSearchParams({
        client_id: config.webClientId,
        redirect_uri: login.redirectUri,
        response_type: 'code',
        scope: 'openid email profile',
        state: login.state,
        nonce: login.nonce,
        code_challenge: challengeOf(login.verifier),
        code_challenge_method: 'S256',
      }).toString();
      return url.toString();
    },
    async finish(login, code) {
      const res = await request((await discover()).token, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: login.redirectUri,
          client_id: config.webClientId,
          code_verifier: login.verifier,
        }).toString(),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) {
        let why = `HTTP ${res.statusCode}`;
        try {
          const err = JSON.parse(text) as { error?: string; error_description?: string };
          why = [err.error, err.error_description].filter(Boolean).join(': ') || why;
        } catch {
          // not JSON: the status says enough
        }
        throw new SignInError(`the issuer refused the authorization code (${why})`);
      }
      const tokens = JSON.parse(text) as { access_token?: unknown; id_token?: unknown };
      if (typeof tokens.access_token !== 'string') throw new SignInError('the token response has no access_token');
      const identity = await verifyAccess(tokens.access_token).catch((err: Error) => {
        throw new SignInError(`the access token was refused: ${err.message}`);
      });
      if (!identity) throw new SignInError('the access token was refused');
      if (typeof tokens.id_token === 'string') {
        const id = await idTokens.verify(tokens.id_token).catch((err: Error) => {
          throw new SignInError(`the ID token was refused: ${err.message}`);
        });
        const claims = decodeJwt(tokens.id_token); // verified just above
        if (claims.nonce !== login.nonce) throw new SignInError('the ID token is not for this sign-in (nonce)');
        if (id.subject !== identity.subject) throw new SignInError('the ID token and access token name two subjects');
      }
      const exp = decodeJwt(tokens.access_token).exp; // verified above; exp is a required claim there
      return { identity, expiresAt: (exp ?? 0) * 1000 };
    },
  };
}

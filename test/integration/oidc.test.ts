// The OIDC verifier of `strata serve` against a REAL OpenID provider process (zitadel/oidc v3's
// example OP, wrapped in tools/oidc-provider and built once into ~/.cache/strata/oidc-provider/):
// tokens come from its token endpoint by client credentials and by authorization code + PKCE, and
// every kind of bad token is refused with its own reason.
//
// Expired and not-yet-valid: the provider only mints tokens valid now, so those two checks verify a
// real provider token against a controlled clock (the verifier's `clock`, passed to jose's
// jwtVerify as currentDate) past its exp / before its nbf. Foreign-key tokens are signed here with
// a fresh key, which is the point: the provider's JWKS does not hold it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOidcVerifier,
  OidcConfigError,
  type OidcVerifierOptions,
  OidcUnavailable,
  TokenRejected,
  type TokenRejectedReason,
} from '../../src/api/oidc';
import { OIDC_TEST_PROVIDER, type RunningOidcProvider, startOidcProvider } from '../../src/api/oidc-provider';
import { freePort } from '../../src/tools/ports';
import { authorizationCodeToken, clientCredentialsToken, discovery } from '../helpers/oidc';

let provider: RunningOidcProvider;
let dir: string;
let ciToken: string;
let aliceToken: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-oidc-'));
  provider = await startOidcProvider({ port: await freePort(), logFile: path.join(dir, 'provider.log') });
  ciToken = await clientCredentialsToken(provider.issuer);
  aliceToken = (await authorizationCodeToken(provider.issuer, 'alice')).accessToken;
});

afterAll(async () => {
  await provider?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const verifier = (extra: Partial<OidcVerifierOptions> = {}) =>
  createOidcVerifier({ issuer: provider.issuer, audience: 'strata', ...extra });

async function refusal(promise: Promise<unknown>): Promise<TokenRejected> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenRejected);
  return err as TokenRejected;
}

async function expectRefused(promise: Promise<unknown>, reason: TokenRejectedReason): Promise<TokenRejected> {
  const err = await refusal(promise);
  expect(err.reason).toBe(reason);
  return err;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('tokens from the real provider are accepted', () => {
  it('client credentials: the service client, its groups, displayed by its subject (no email claim)', async () => {
    const claims = decodeJwt(ciToken);
    expect(claims.iss).toBe(provider.issuer);
    expect(claims.aud).toContain('strata');
    expect(await verifier().verify(ciToken)).toEqual({
      issuer: provider.issuer,
      subject: OIDC_TEST_PROVIDER.ciClientId,
      display: OIDC_TEST_PROVIDER.ciClientId,
      groups: [...OIDC_TEST_PROVIDER.ciGroups],
      via: 'oidc',
    });
  });

  it('authorization code + PKCE: the logged-in user, display claim email (default) or name', async () => {
    const alice = OIDC_TEST_PROVIDER.users.alice;
    expect(await verifier().verify(aliceToken)).toEqual({
      issuer: provider.issuer,
      subject: alice.subject,
      display: alice.email,
      groups: [...alice.groups],
      via: 'oidc',
    });
    const bob = await authorizationCodeToken(provider.issuer, 'bob');
    const identity = await verifier({ displayClaim: 'name' }).verify(bob.accessToken);
    expect(identity).toMatchObject({ subject: OIDC_TEST_PROVIDER.users.bob.subject, display: 'Bob Steward' });
    expect(identity.groups).toEqual([...OIDC_TEST_PROVIDER.users.bob.groups]);
  });

  it('an audience list accepts a token naming any one of them', async () => {
    await expect(verifier({ audience: ['billing', 'strata'] }).verify(ciToken)).resolves.toMatchObject({
      subject: OIDC_TEST_PROVIDER.ciClientId,
    });
  });
});

describe('bad tokens are refused, each with its reason', () => {
  it('tampered: a flipped byte in the payload, or a rewritten subject, breaks the signature', async () => {
    const [h, p, s] = aliceToken.split('.');
    const i = Math.floor(p.length / 2);
    const flipped = p.slice(0, i) + (p[i] === 'A' ? 'B' : 'A') + p.slice(i + 1);
    await expectRefused(verifier().verify(`${h}.${flipped}.${s}`), 'bad-signature');

    const claims = decodeJwt(aliceToken);
    const forged = b64({ ...claims, sub: OIDC_TEST_PROVIDER.users.bob.subject, groups: ['admins'] });
    await expectRefused(verifier().verify(`${h}.${forged}.${s}`), 'bad-signature');
    // the untouched token still passes: the refusals above are the edits'
    await expect(verifier().verify(aliceToken)).resolves.toMatchObject({ subject: 'user-alice' });
  });

  it('expired: a real token checked on a clock past its exp (beyond the 30 s tolerance, not within it)', async () => {
    const { exp } = decodeJwt(aliceToken);
    const at = (s: number) => () => new Date(s * 1000);
    const err = await expectRefused(verifier({ clock: at(exp! + 31) }).verify(aliceToken), 'expired');
    expect(err.message).toMatch(/expired/);
    await expect(verifier({ clock: at(exp! + 5) }).verify(aliceToken)).resolves.toMatchObject({ via: 'oidc' });
    await expectRefused(verifier({ clock: at(exp! + 1), clockToleranceSec: 0 }).verify(aliceToken), 'expired');
  });

  it('not yet valid: a real token checked on a clock before its nbf', async () => {
    const { nbf } = decodeJwt(ciToken);
    expect(typeof nbf).toBe('number');
    const clock = () => new Date((nbf! - 60) * 1000);
    await expectRefused(verifier({ clock }).verify(ciToken), 'not-yet-valid');
  });

  it('wrong audience: a verifier for another API refuses a token made for strata', async () => {
    const err = await expectRefused(verifier({ audience: 'billing-api' }).verify(ciToken), 'wrong-audience');
    expect(err.message).toContain('billing-api');
  });

  it("wrong issuer: a key shared by two issuers (as multi-tenant providers do) does not make one's tokens the other's", async () => {
    const { jwks_uri } = await discovery(provider.issuer);
    const tenantB = createOidcVerifier({
      issuer: 'https://tenant-b.example.test',
      audience: 'strata',
      jwksUri: jwks_uri,
    });
    await expectRefused(tenantB.verify(aliceToken), 'wrong-issuer');
  });

  it('a configured issuer that differs from the discovery document (even by a slash) is a config error', async () => {
    const v = verifier({ issuer: `${provider.issuer}/` });
    await expect(v.verify(ciToken)).rejects.toThrow(OidcConfigError);
    await expect(v.discover()).rejects.toThrow(/differs from the issuer/);
  });

  it('alg none (the real claims, unsigned) and HS256 keyed with the public key are refused', async () => {
    const [, p] = ciToken.split('.');
    await expectRefused(verifier().verify(`${b64({ alg: 'none', typ: 'JWT' })}.${p}.`), 'algorithm-not-allowed');

    // key confusion: an HMAC "signed" with the provider's public key as the shared secret
    const { kid } = decodeProtectedHeader(ciToken);
    const res = await fetch((await discovery(provider.issuer)).jwks_uri);
    const { keys } = (await res.json()) as { keys: { kid: string }[] };
    const secret = new TextEncoder().encode(JSON.stringify(keys.find((k) => k.kid === kid)));
    const hs = await new SignJWT(decodeJwt(ciToken)).setProtectedHeader({ alg: 'HS256', kid }).sign(secret);
    await expectRefused(verifier().verify(hs), 'algorithm-not-allowed');

    // and no allow-list can name them
    expect(() => verifier({ algorithms: ['none'] })).toThrow(OidcConfigError);
    expect(() => verifier({ algorithms: ['HS256'] })).toThrow(/never none or HMAC/);
  });

  it('signed by a key not in the JWKS: refused under the provider kid, and under a kid of its own', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    expect(await exportSPKI(publicKey)).toMatch(/BEGIN PUBLIC KEY/);
    const claims = decodeJwt(aliceToken); // the right iss, aud, sub, exp: only the key is wrong
    const { kid } = decodeProtectedHeader(aliceToken);
    const underProviderKid = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey);
    await expectRefused(verifier().verify(underProviderKid), 'bad-signature');
    const ownKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'not-the-provider' })
      .sign(privateKey);
    await expectRefused(verifier().verify(ownKid), 'unknown-key');
  });

  it('not a JWT at all', async () => {
    await expectRefused(verifier().verify('opaque-token'), 'malformed');
    await expectRefused(verifier().verify('e30.e30.'), 'algorithm-not-allowed'); // {} header: no alg
  });
});

describe('configuration and availability', () => {
  it('plain http is refused for a non-loopback issuer; an empty audience is refused', () => {
    expect(() => createOidcVerifier({ issuer: 'http://idp.example.test', audience: 'strata' })).toThrow(
      /must be https/,
    );
    expect(() => createOidcVerifier({ issuer: provider.issuer, audience: [] })).toThrow(/audience/);
  });

  it('an issuer that does not answer is OidcUnavailable (not a token refusal), and is retried', async () => {
    const v = createOidcVerifier({
      issuer: `http://127.0.0.1:${await freePort()}`,
      audience: 'strata',
      timeoutMs: 2000,
    });
    await expect(v.verify(ciToken)).rejects.toThrow(OidcUnavailable);
    await expect(v.verify(ciToken)).rejects.toThrow(/discovery document/);
  });

  it('a JWKS URL that does not serve keys is OidcUnavailable too, not a refusal of the token', async () => {
    const v = verifier({ jwksUri: `${provider.issuer}/no-such-keys` });
    await expect(v.verify(ciToken)).rejects.toThrow(OidcUnavailable);
    await expect(v.verify(ciToken)).rejects.toThrow(/cannot fetch the JWKS/);
  });
});

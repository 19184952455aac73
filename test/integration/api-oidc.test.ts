// `strata serve` behind a real OpenID provider process: tokens from the provider's client-credentials
// and authorization-code + PKCE flows open the door with the roles access.yaml gives their groups;
// a tampered token, or one for another audience, does not.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAccess } from '../../src/api/access';
import { createOidcVerifier } from '../../src/api/oidc';
import { OIDC_TEST_PROVIDER, type RunningOidcProvider, startOidcProvider } from '../../src/api/oidc-provider';
import { freePort } from '../../src/tools/ports';
import { workerSuite } from '../helpers/harness';
import { callApi, startTestApi, type TestApi } from '../helpers/api';
import { authorizationCodeToken, clientCredentialsToken } from '../helpers/oidc';

const suite = workerSuite('api-oidc');
let provider: RunningOidcProvider;
let api: TestApi;
let ciToken: string;
let aliceToken: string;

const call = (method: 'GET' | 'POST', route: string, token?: string) => callApi(api.base, method, route, token);

beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(suite.home, 'api-oidc-'));
  provider = await startOidcProvider({ port: await freePort(), logFile: path.join(dir, 'provider.log') });
  fs.writeFileSync(
    path.join(dir, 'access.yaml'),
    `oidc:
  issuer: ${provider.issuer}
  audience: ${provider.audience}
grants:
  - role: operator
    groups: [automation]
  - role: approver:prod
    groups: [approvers-prod]
`,
  );
  const access = loadAccess(path.join(dir, 'access.yaml'));
  const verifier = createOidcVerifier(access.oidc!);
  await verifier.discover();
  api = await startTestApi({ ...suite, access, oidc: (token) => verifier.verify(token) });
  ciToken = await clientCredentialsToken(provider.issuer);
  aliceToken = (await authorizationCodeToken(provider.issuer, 'alice')).accessToken;
});

afterAll(async () => {
  await api?.close();
  await provider?.stop();
});

describe('strata serve with a real OIDC provider', () => {
  it('takes a client-credentials token as the verified client, with the role its group grants', async () => {
    const me = await call('GET', '/whoami', ciToken);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ via: 'oidc', roles: ['operator'] });
    expect(me.body.actor).toBe(`${provider.issuer}#${OIDC_TEST_PROVIDER.ciClientId}`);
    expect(me.body.auth).toContain(`oidc ${provider.issuer}`);
    expect((await call('GET', '/promotions', ciToken)).status).toBe(200);
  });

  it('takes a person signed in with authorization code + PKCE, with their groups, and refuses what their roles do not allow', async () => {
    const me = await call('GET', '/whoami', aliceToken);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      via: 'oidc',
      roles: ['approver:prod'],
      display: OIDC_TEST_PROVIDER.users.alice.email,
    });
    expect(me.body.actor).toBe(`${provider.issuer}#${OIDC_TEST_PROVIDER.users.alice.subject}`);
    const promote = await call('POST', '/promotions', aliceToken);
    expect(promote.status).toBe(403);
    expect(JSON.stringify(promote.body)).toContain('operator');
  });

  it('refuses a tampered token and a missing one with 401', async () => {
    const [header, payload, signature] = ciToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, groups: ['automation', 'approvers-prod'] })).toString(
      'base64url',
    );
    expect((await call('GET', '/whoami', `${header}.${forged}.${signature}`)).status).toBe(401);
    expect((await call('GET', '/whoami')).status).toBe(401);
  });
});

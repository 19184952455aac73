// Getting tokens from the real test OpenID provider (src/api/oidc-provider.ts) the way clients do:
// client credentials, and authorization code + PKCE with the login form driven by plain HTTP.
import crypto from 'node:crypto';
import { request } from 'undici';
import { OIDC_TEST_PROVIDER } from '../../src/api/oidc-provider';

export const REDIRECT_URI = 'http://127.0.0.1/callback';

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

export async function discovery(issuer: string): Promise<Discovery> {
  const res = await request(`${issuer}/.well-known/openid-configuration`);
  if (res.statusCode !== 200) throw new Error(`discovery: HTTP ${res.statusCode}`);
  return (await res.body.json()) as Discovery;
}

async function tokenRequest(
  issuer: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ access_token: string; id_token?: string; token_type: string }> {
  const { token_endpoint } = await discovery(issuer);
  const res = await request(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const body = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`token endpoint: HTTP ${res.statusCode}: ${body}`);
  return JSON.parse(body) as { access_token: string; id_token?: string; token_type: string };
}

/** An access token for the strata-ci client by the client-credentials grant (HTTP Basic client auth). */
export async function clientCredentialsToken(issuer: string): Promise<string> {
  const basic = Buffer.from(`${OIDC_TEST_PROVIDER.ciClientId}:${OIDC_TEST_PROVIDER.ciClientSecret}`).toString('base64');
  const res = await tokenRequest(
    issuer,
    { grant_type: 'client_credentials', scope: 'openid' },
    { authorization: `Basic ${basic}` },
  );
  return res.access_token;
}

function location(res: { statusCode: number; headers: Record<string, string | string[] | undefined> }, step: string) {
  const loc = res.headers.location;
  if (res.statusCode !== 302 && res.statusCode !== 303)
    throw new Error(`${step}: expected a redirect, got HTTP ${res.statusCode}`);
  if (typeof loc !== 'string') throw new Error(`${step}: redirect without a Location`);
  return loc;
}

/**
 * The authorization-code flow with PKCE (S256) for the public strata-cli client, as a browser would
 * do it: /auth redirects to the login page, the username/password form is posted, the callback
 * redirects to the redirect URI with the code (no server needed there: the Location is read), and
 * the code is exchanged with the verifier. Returns the access token and the authorization code flow's state check.
 */
export async function authorizationCodeToken(
  issuer: string,
  username: keyof typeof OIDC_TEST_PROVIDER.users,
): Promise<{ accessToken: string; idToken: string | undefined }> {
  const { authorization_endpoint } = await discovery(issuer);
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  const state = crypto.randomBytes(8).toString('hex');
  const auth = new URL(authorization_endpoint);
  auth.search = new URLSearchParams({
    client_id: OIDC_TEST_PROVIDER.cliClientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid email profile',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  const r1 = await request(auth);
  await r1.body.dump();
  const loginPage = new URL(location(r1, 'authorize'), issuer);
  const authRequestId = loginPage.searchParams.get('authRequestID');
  if (!authRequestId) throw new Error(`authorize: the login page ${loginPage.pathname} has no authRequestID`);

  const r2 = await request(new URL('/login/username', issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      username,
      password: OIDC_TEST_PROVIDER.users[username].password,
      id: authRequestId,
    }).toString(),
  });
  await r2.body.dump();
  const callback = new URL(location(r2, 'login'), issuer);

  const r3 = await request(callback);
  await r3.body.dump();
  const back = new URL(location(r3, 'callback'));
  if (`${back.origin}${back.pathname}` !== REDIRECT_URI) throw new Error(`callback: redirected to ${back.pathname}`);
  if (back.searchParams.get('state') !== state) throw new Error('callback: state does not match');
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`callback: no code (${back.searchParams.get('error') ?? 'no error'})`);

  const res = await tokenRequest(issuer, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    client_id: OIDC_TEST_PROVIDER.cliClientId,
    code_verifier: verifier,
  });
  return { accessToken: res.access_token, idToken: res.id_token };
}

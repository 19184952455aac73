// Browser sessions of the web inbox. The cookie holds only a random session id (32 bytes); what the
// session means (the verified identity, its CSRF token, when it ends) stays on the server, in memory.
// That is why there is no cookie signing (and no @fastify/cookie): an id nobody can guess needs no
// signature, and nothing in the cookie is trusted beyond naming a server-side session. Sessions end
// with the server process (people sign in again) and with the access token they were made from.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { VerifiedIdentity } from '../api/identity';

export const SESSION_COOKIE = 'strata_session';
/** The short-lived cookie that carries a sign-in attempt (state, PKCE verifier) to the callback. */
export const LOGIN_COOKIE = 'strata_login';

/** The longest a session lives, even when its access token lives longer. */
export const MAX_SESSION_MS = 8 * 3600_000;
const MAX_LOGIN_MS = 10 * 60_000;

export interface Session {
  id: string;
  identity: VerifiedIdentity;
  /** Sent back in every form (hidden field `csrf`) and compared on every POST. */
  csrf: string;
  expiresAt: number;
}

export interface PendingLogin {
  state: string;
  verifier: string;
  nonce: string;
  redirectUri: string;
  /** Where to go after signing in (a local path). */
  returnTo: string;
  expiresAt: number;
}

const newId = () => randomBytes(32).toString('base64url');

/** Parses a Cookie header into name → value (the first of repeated names wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

/** A Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure when served over https. */
export function cookie(name: string, value: string, opts: { secure: boolean; maxAgeSec: number }): string {
  return [
    `${name}=${value}`,
    'Path=/',
    'HttpOnly',
    // Lax, not Strict: the identity provider's redirect back to /ui/callback is a cross-site
    // navigation that must carry the login cookie. POSTs are guarded by the CSRF token besides.
    'SameSite=Lax',
    `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSec))}`,
    ...(opts.secure ? ['Secure'] : []),
  ].join('; ');
}

/** Equal strings, compared in constant time. */
export function sameSecret(a: string | undefined, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly logins = new Map<string, PendingLogin>();

  constructor(private readonly now: () => number = Date.now) {}

  create(identity: VerifiedIdentity, tokenExpiresAt: number): Session {
    this.sweep();
    const session: Session = {
      id: newId(),
      identity,
      csrf: newId(),
      expiresAt: Math.min(tokenExpiresAt, this.now() + MAX_SESSION_MS),
    };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  end(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  startLogin(login: Omit<PendingLogin, 'state' | 'verifier' | 'nonce' | 'expiresAt'>): {
    key: string;
    login: PendingLogin;
  } {
    this.sweep();
    const key = newId();
    const pending: PendingLogin = {
      ...login,
      state: newId(),
      verifier: newId(),
      nonce: newId(),
      expiresAt: this.now() + MAX_LOGIN_MS,
    };
    this.logins.set(key, pending);
    return { key, login: pending };
  }

  /** The sign-in attempt behind a login cookie, once: a callback cannot be replayed. */
  takeLogin(key: string | undefined): PendingLogin | undefined {
    if (!key) return undefined;
    const login = this.logins.get(key);
    this.logins.delete(key);
    return login && login.expiresAt > this.now() ? login : undefined;
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
    for (const [key, l] of this.logins) if (l.expiresAt <= now) this.logins.delete(key);
  }
}

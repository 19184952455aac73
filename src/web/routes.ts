// The approver's web inbox on `strata serve`: `/` and `/ui/*`. Sign-in is OIDC authorization code +
// PKCE (login.ts); a session is a random id in an HttpOnly, SameSite=Lax cookie (session.ts); every
// POST needs the session's CSRF token. Decisions go through the API's own path (src/api/decide.ts),
// so the layer workflow applies the same checks; the page refuses (403) what it can see would be
// refused (the initiator, a non-approver) before asking, and records every refusal like the API.

import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AccessPolicy, rolesOf } from '../api/access';
import { decideAs, decisionGroups, type Decider } from '../api/decide';
import { actorOf, authOf, type BearerVerifier } from '../api/identity';
import { satisfies } from '../api/roles';
import type { ApiStore } from '../api/store';
import { collectAuditEntries } from '../audit/collect';
import { auditTrail, byTime } from '../audit/trail';
import { isApprover } from '../domain/approval';
import { evidenceDigest, layerEvidence } from '../domain/evidence';
import { normalizeIdentity } from '../domain/identity';
import type { LayerStatus, PromotionStatus } from '../domain/status';
import { getStatus, PromotionNotFoundError, RefusedError } from '../temporal/promotions';
import { approvalView } from './evidence-view';
import { type Frame, page, type Raw } from './html';
import { createWebLogin, SignInError, type WebLogin } from './login';
import {
  approvalPage,
  approvalPath,
  approvalState,
  AUDIT_SHOWN,
  auditPage,
  type AuditFilter,
  type ShownEntry,
  errorBody,
  inboxFragment,
  inboxPage,
  signInPage,
  timelineFragment,
  timelinePage,
} from './pages';
import { mayDecide, PendingApprovals, SharedListing } from './pending';
import { registerTemporalUi, type TemporalUiOptions } from './temporal-ui';
import { cookie, LOGIN_COOKIE, parseCookies, sameSecret, type Session, SESSION_COOKIE, SessionStore } from './session';

export interface WebOptions {
  client: Client;
  taskQueue: string;
  home: string;
  artifacts: string;
  store: ApiStore;
  access: AccessPolicy;
  /** The API's OIDC bearer verifier: the web session's access token is verified by it. */
  oidc?: BearerVerifier;
  /** The cluster's Temporal Web UI at /temporal/*, read-only, for signed-in sessions (temporal-ui.ts). */
  temporalUi?: TemporalUiOptions;
}

const ASSETS = path.join(__dirname, 'assets');
const ASSET_TYPES: Record<string, string> = {
  'web.css': 'text/css; charset=utf-8',
  'web.js': 'text/javascript; charset=utf-8',
};
const FORM_LIMIT = 64 * 1024;
/** How old the shared listing of waiting layers may be before a newer one is read (in the background). */
const LISTING_MAX_AGE_MS = 2_000;

type Signed = Decider & { session: Session };

declare module 'fastify' {
  interface FastifyRequest {
    web?: Signed;
  }
}

/** A local path to return to after signing in: never another origin. */
function localPath(raw: unknown): string {
  return typeof raw === 'string' && /^\/(?![/\\])/.test(raw) ? raw : '/';
}

export async function registerWeb(app: FastifyInstance, opts: WebOptions): Promise<void> {
  const sessions = new SessionStore();
  const pending = new PendingApprovals(opts.client, opts.taskQueue);
  const webClientId = opts.access.oidc?.webClientId;
  const login: WebLogin | undefined =
    opts.access.oidc && webClientId && opts.oidc
      ? createWebLogin({ ...opts.access.oidc, webClientId }, opts.oidc)
      : undefined;

  const listing = new SharedListing(() => pending.list(), LISTING_MAX_AGE_MS);

  const redirectUriOf = (req: FastifyRequest) =>
    opts.access.oidc?.webRedirectUri ?? `${req.protocol}://${req.host}/ui/callback`;
  const secureOf = (req: FastifyRequest) => redirectUriOf(req).startsWith('https:');

  const send = (reply: FastifyReply, status: number, frame: Omit<Frame, 'who'>, req: FastifyRequest) => {
    const s = req.web;
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(
        page({
          ...frame,
          ...(s
            ? {
                who: {
                  display: s.identity.display,
                  actor: s.actor,
                  roles: [...s.roles],
                  csrf: s.session.csrf,
                },
              }
            : {}),
        }),
      );
  };
  const fragment = (reply: FastifyReply, body: Raw) => reply.type('text/html; charset=utf-8').send(body.html);

  /** A refused web request, in the same refusal log as the API's. */
  const recordRefusal = (req: FastifyRequest, status: 401 | 403 | 405 | 409, why: string) =>
    opts.store.recordRefusal({
      at: new Date().toISOString(),
      actor: req.web?.actor ?? 'anonymous',
      auth: req.web?.auth ?? why,
      method: req.method,
      route: req.url,
      status,
      reason: why,
      remote: req.ip,
    });
  const refuse = (req: FastifyRequest, reply: FastifyReply, status: 401 | 403 | 409, why: string) => {
    recordRefusal(req, status, why);
    return send(reply, status, { title: 'Refused', body: errorBody('Refused', why) }, req);
  };

  await app.register(async (web) => {
    web.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: FORM_LIMIT },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );

    web.addHook('onSend', async (_req, reply, payload) => {
      // The Temporal Web UI's pages bring their own policy (temporal-ui.ts).
      if (!reply.hasHeader('content-security-policy'))
        reply.header(
          'content-security-policy',
          "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' " +
            (opts.access.oidc ? new URL(opts.access.oidc.issuer).origin : ''),
        );
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-frame-options', 'DENY');
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      return payload;
    });

    // Who is signed in (undefined: nobody). Roles come from access.yaml on every request.
    web.addHook('onRequest', async (req) => {
      const session = sessions.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
      if (!session) return;
      const identity = session.identity;
      req.web = {
        session,
        identity,
        roles: rolesOf(opts.access, identity),
        actor: actorOf(identity),
        auth: `${authOf(identity)} (web inbox)`,
      };
    });

    // Every POST: a session, and its CSRF token in the form.
    web.addHook('preHandler', async (req, reply) => {
      if (req.method !== 'POST') return;
      if (!req.web) return refuse(req, reply, 401, 'not signed in');
      const token = (req.body as Record<string, unknown> | undefined)?.csrf;
      if (!sameSecret(typeof token === 'string' ? token : undefined, req.web.session.csrf))
        return refuse(req, reply, 403, 'missing or wrong CSRF token: reload the page and try again');
    });

    web.setErrorHandler((err, req, reply) => {
      if (err instanceof PromotionNotFoundError)
        return send(reply, 404, { title: 'Not found', body: errorBody('Not found', (err as Error).message) }, req);
      const status = (err as { statusCode?: number }).statusCode;
      if (status && status >= 400 && status < 500)
        return send(
          reply,
          status,
          { title: 'Bad request', body: errorBody('Bad request', (err as Error).message) },
          req,
        );
      req.log.error(err);
      return send(reply, 500, { title: 'Error', body: errorBody('Something failed', (err as Error).message) }, req);
    });

    const hide = { schema: { hide: true } };

    /** The signed-in caller, or the sign-in page (fragments: 401). */
    const signedIn = (req: FastifyRequest, reply: FastifyReply): Signed | undefined => {
      if (req.web) return req.web;
      if (req.url.includes('.frag') || req.url.endsWith('/frag')) {
        void reply.code(401).type('text/plain').send('signed out');
      } else {
        void send(
          reply,
          200,
          { title: 'Sign in', body: signInPage({ configured: !!login, returnTo: localPath(req.url) }) },
          req,
        );
      }
      return undefined;
    };

    web.get('/ui/assets/:file', hide, async (req, reply) => {
      const file = (req.params as { file: string }).file;
      const type = ASSET_TYPES[file];
      if (!type) return reply.code(404).type('text/plain').send('no such asset');
      return reply
        .type(type)
        .header('cache-control', 'public, max-age=300')
        .send(fs.readFileSync(path.join(ASSETS, file)));
    });

    // --- signing in and out ---------------------------------------------------------------------

    web.get('/ui/login', hide, async (req, reply) => {
      if (!login)
        return send(reply, 503, { title: 'Sign in', body: signInPage({ configured: false, returnTo: '/' }) }, req);
      const { key, login: attempt } = sessions.startLogin({
        redirectUri: redirectUriOf(req),
        returnTo: localPath((req.query as Record<string, unknown>).return),
      });
      reply.header('set-cookie', cookie(LOGIN_COOKIE, key, { secure: secureOf(req), maxAgeSec: 600 }));
      return reply.redirect(await login.authorizationUrl(attempt), 302);
    });

    web.get('/ui/callback', hide, async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const attempt = sessions.takeLogin(parseCookies(req.headers.cookie).get(LOGIN_COOKIE));
      const failed = (why: string) =>
        send(
          reply,
          400,
          { title: 'Sign in', body: signInPage({ configured: !!login, error: why, returnTo: '/' }) },
          req,
        );
      reply.header('set-cookie', cookie(LOGIN_COOKIE, '', { secure: secureOf(req), maxAgeSec: 0 }));
      if (!login) return failed('sign-in is not configured');
      if (!attempt) return failed('this sign-in attempt is unknown or expired: sign in again');
      if (!sameSecret(q.state, attempt.state)) return failed('the state does not match this sign-in: sign in again');
      if (q.error)
        return failed(`the identity provider said ${q.error}${q.error_description ? `: ${q.error_description}` : ''}`);
      if (!q.code) return failed('the identity provider sent no code');
      try {
        const { identity, expiresAt } = await login.finish(attempt, q.code);
        const session = sessions.create(identity, expiresAt);
        reply.header('set-cookie', [
          cookie(LOGIN_COOKIE, '', { secure: secureOf(req), maxAgeSec: 0 }),
          cookie(SESSION_COOKIE, session.id, {
            secure: secureOf(req),
            maxAgeSec: (session.expiresAt - Date.now()) / 1000,
          }),
        ]);
        return reply.redirect(attempt.returnTo, 303);
      } catch (err) {
        if (err instanceof SignInError) return failed(err.message);
        throw err;
      }
    });

    web.post('/ui/logout', hide, async (req, reply) => {
      sessions.end(req.web?.session.id);
      reply.header('set-cookie', cookie(SESSION_COOKIE, '', { secure: secureOf(req), maxAgeSec: 0 }));
      return reply.redirect('/', 303);
    });

    // --- inbox ----------------------------------------------------------------------------------

    const myPending = async (who: Signed) => {
      const groups = decisionGroups(who);
      return (await listing.get()).filter((p) => mayDecide(p, who.actor, groups));
    };
    const pageNo = (req: FastifyRequest) => Math.max(1, Number((req.query as { page?: string }).page) || 1);

    web.get('/', hide, async (req, reply) => {
      const who = signedIn(req, reply);
      if (!who) return reply;
      const items = satisfies(who.roles, 'approver') ? await myPending(who) : [];
      return send(reply, 200, { title: 'Inbox', body: inboxPage(items, pageNo(req), Date.now()) }, req);
    });

    web.get('/ui/inbox.frag', hide, async (req, reply) => {
      const who = signedIn(req, reply);
      if (!who) return reply;
      const items = satisfies(who.roles, 'approver') ? await myPending(who) : [];
      return fragment(reply, inboxFragment(items, pageNo(req), Date.now()));
    });

    // --- one approval ---------------------------------------------------------------------------

    /** Why `who` may not decide `layer` of `status` (what the workflow would refuse), or null. */
    const cannotDecide = (who: Signed, status: PromotionStatus, layer: LayerStatus): string | null => {
      if (layer.phase !== 'awaiting-approval')
        return `Layer ${layer.name} is not awaiting approval (phase: ${layer.phase}).`;
      if (normalizeIdentity(status.initiator) === normalizeIdentity(who.actor))
        return 'You started this promotion: another approver must decide it.';
      if (!satisfies(who.roles, 'approver')) return 'Deciding needs an approver role, which you do not hold.';
      if (!isApprover(layer.approval.allowed, who.actor, decisionGroups(who)))
        return `You are not an approver of layer ${layer.name} (allowed: ${layer.approval.allowed.join(', ')}).`;
      if (
        layer.approvals.some(
          (a) => a.decision === 'approve' && normalizeIdentity(a.actor) === normalizeIdentity(who.actor),
        )
      )
        return 'You have approved this layer already; an approver counts once.';
      return null;
    };

    type LayerParams = { id: string; layer: string };
    const deps = { client: opts.client, taskQueue: opts.taskQueue, home: opts.home, artifacts: opts.artifacts };
    const notFound = (req: FastifyRequest, reply: FastifyReply, p: LayerParams) =>
      send(
        reply,
        404,
        { title: 'Not found', body: errorBody('Not found', `promotion ${p.id} has no layer ${p.layer}`) },
        req,
      );

    web.get('/ui/approvals/:id/:layer', hide, async (req, reply) => {
      const who = signedIn(req, reply);
      if (!who) return reply;
      if (!satisfies(who.roles, 'reader')) return refuse(req, reply, 403, `${who.actor} holds no role`);
      const p = req.params as LayerParams;
      const view = await approvalView(deps, p.id, p.layer);
      if (!view) return notFound(req, reply, p);
      const done = (req.query as { done?: string }).done;
      const notice =
        done === 'approve' || done === 'reject'
          ? { ok: true, text: `Your ${done === 'approve' ? 'approval' : 'rejection'} was recorded.` }
          : undefined;
      const body = approvalPage(
        view,
        { cannot: cannotDecide(who, view.status, view.layer), csrf: who.session.csrf },
        notice,
      );
      return send(
        reply,
        200,
        { title: `${view.layer.name}: ${view.status.candidate.name} ${view.status.candidate.version}`, body },
        req,
      );
    });

    web.get('/ui/approvals/:id/:layer/state.frag', hide, async (req, reply) => {
      const who = signedIn(req, reply);
      if (!who) return reply;
      const p = req.params as LayerParams;
      // Every few seconds per open page: the status only (one query), not the whole evidence view.
      const status = await getStatus(opts.client, p.id);
      const layer = status.layers.find((l) => l.name === p.layer);
      const shown = layerEvidence(status, p.layer);
      if (!layer || !shown) return reply.code(404).type('text/plain').send('not found');
      const digest = String((req.query as { digest?: string }).digest ?? '');
      return fragment(reply, approvalState({ status, layer, evidence: evidenceDigest(shown) }, digest));
    });

    web.post('/ui/approvals/:id/:layer/decide', hide, async (req, reply) => {
      const who = req.web!; // the preHandler checked the session and the CSRF token
      const p = req.params as LayerParams;
      const form = req.body as Record<string, string | undefined>;
      const decision = form.decision;
      if (decision !== 'approve' && decision !== 'reject')
        return send(
          reply,
          400,
          { title: 'Bad request', body: errorBody('Bad request', 'decision: expected approve or reject') },
          req,
        );
      const status = await getStatus(opts.client, p.id);
      const layer = status.layers.find((l) => l.name === p.layer);
      if (!layer) return notFound(req, reply, p);
      const cannot = cannotDecide(who, status, layer);
      if (cannot) return refuse(req, reply, 403, cannot);
      const reason = (form.reason ?? '').trim();
      if (!reason)
        return send(
          reply,
          400,
          { title: 'Bad request', body: errorBody('A reason is required', 'Approve and Reject each need a reason.') },
          req,
        );
      const digest = form.digest ?? '';
      if (!/^[0-9a-f]{64}$/.test(digest))
        return send(
          reply,
          400,
          {
            title: 'Bad request',
            body: errorBody('Bad request', 'digest: expected the evidence sha256 the page showed'),
          },
          req,
        );
      let parts: Record<string, string> | undefined;
      try {
        const parsed = JSON.parse(form.parts ?? '{}') as unknown;
        if (parsed && typeof parsed === 'object')
          parts = Object.fromEntries(Object.entries(parsed).filter(([, v]) => typeof v === 'string')) as Record<
            string,
            string
          >;
      } catch {
        parts = undefined;
      }
      try {
        await decideAs(opts.client, p.id, decision, who, {
          layer: p.layer,
          reason,
          evidence: { digest, ...(parts ? { parts } : {}) },
        });
      } catch (err) {
        if (err instanceof RefusedError) {
          opts.store.recordRefusal({
            at: new Date().toISOString(),
            actor: who.actor,
            auth: who.auth,
            method: req.method,
            route: req.url,
            status: 409,
            reason: err.message,
            remote: req.ip,
          });
          const view = await approvalView(deps, p.id, p.layer);
          if (!view) return notFound(req, reply, p);
          const body = approvalPage(
            view,
            { cannot: cannotDecide(who, view.status, view.layer), csrf: who.session.csrf },
            { ok: false, text: err.message },
          );
          return send(reply, 409, { title: 'Refused', body }, req);
        }
        throw err;
      }
      listing.invalidate(); // the inbox changes with this decision
      return reply.redirect(`${approvalPath(p.id, p.layer)}?done=${decision}`, 303);
    });

    // --- timeline and audit ---------------------------------------------------------------------

    const timeline = async (id: string) => {
      const status = await getStatus(opts.client, id);
      return { status, entries: byTime(await auditTrail(opts.client, id)) };
    };

    web.get('/ui/promotions/:id', hide, async (req, reply) => {
      const who = signedIn(req, reply);
      if (!who) return reply;
      if (!satisfies(who.roles, 'reader')) return refuse(req, reply, 403, `${who.actor} holds no role`);
      const { status, entries } = await timeline((req.params as { id: string }).id);
      return send(
        reply,
        200,
        { title: `Promotion ${status.id}`, body: timelinePage(status, entries, Date.now()) },
        req,
      );
    });

    web.get('/ui/promotions/:id/frag', hide, async (req, reply) => {
      const who = signedIn(req, reply);
      if (!who) return reply;
      if (!satisfies(who.roles, 'reader')) return reply.code(403).type('text/plain').send('no role');
      const { status, entries } = await timeline((req.params as { id: string }).id);
      return fragment(reply, timelineFragment(status, entries, Date.now()));
    });

    web.get('/ui/audit', hide, async (req, reply) => {
      const who = signedIn(req, reply);
      if (!who) return reply;
      if (!satisfies(who.roles, 'auditor'))
        return refuse(
          req,
          reply,
          403,
          `the audit page needs the role auditor; ${who.actor} holds ${who.roles.join(', ') || 'no role'}`,
        );
      const q = req.query as Record<string, string | undefined>;
      const f: AuditFilter = {};
      for (const k of ['promotion', 'actor', 'action', 'since', 'until'] as const) {
        const v = q[k]?.trim();
        if (v) f[k] = v;
      }
      const all: ShownEntry[] = f.promotion
        ? (await auditTrail(opts.client, f.promotion)).map((e) => ({ ...e, source: `promotion:${f.promotion}` }))
        : await collectAuditEntries(opts.client, opts.taskQueue, opts.home);
      const since = f.since ? Date.parse(f.since.length === 16 ? `${f.since}Z` : f.since) : NaN;
      const until = f.until ? Date.parse(f.until.length === 16 ? `${f.until}Z` : f.until) : NaN;
      const matching = all
        .filter(
          (e) =>
            (!f.actor || e.actor.toLowerCase().includes(f.actor.toLowerCase())) &&
            (!f.action || e.action.startsWith(f.action)) &&
            (Number.isNaN(since) || Date.parse(e.at) >= since) &&
            (Number.isNaN(until) || Date.parse(e.at) <= until),
        )
        .sort((a, b) => b.at.localeCompare(a.at));
      return send(
        reply,
        200,
        { title: 'Audit', body: auditPage(f, matching.slice(0, AUDIT_SHOWN), matching.length) },
        req,
      );
    });

    // --- the Temporal Web UI (strata serve --temporal-ui) ---------------------------------------

    if (opts.temporalUi)
      registerTemporalUi(web, opts.temporalUi, {
        caller: (req) => req.web,
        recordRefusal,
      });
  });
}

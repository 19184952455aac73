// The Temporal Web UI behind `strata serve --temporal-ui <url>`: /temporal/* goes to the UI server that
// `strata cluster up --ui-port` runs on loopback (src/temporal/cluster-ui.ts). That server holds no
// token, so what reaches it directly is refused by the cluster's JWT authorizer; here each request of
// a signed-in web session (reader role at least) gets `Authorization: Bearer <token>`, a short-lived
// token for that person signed with the cluster's key that reads the namespace and nothing more.
// Only GET (and HEAD) pass: every other method is refused (405) here, besides the UI server's own
// `disableWriteActions` and the token's read-only permission. Nothing of the browser's but a few
// content-negotiation headers is passed on: not its cookies (the session), not an Authorization
// header of its own; and nothing of the UI server's cookies comes back.
// Two calls the UI makes on load are cluster-scoped, which a namespace reader may not make: the
// namespace list is answered here with the one namespace (DescribeNamespace, which the reader may
// make), and the cluster info (server version, visibility store) is fetched with a token that reads
// the cluster, attached to that one route only.

import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { request } from 'undici';
import { type Role, satisfies } from '../api/roles';
import { type SigningKey, webClusterInfoToken, webReaderToken } from '../temporal/auth';
import { TEMPORAL_UI_PATH } from '../temporal/cluster-config';

export interface TemporalUiOptions {
  /** The UI server, as `strata cluster up --ui-port` prints it: http://127.0.0.1:<port>. */
  url: string;
  /** The cluster's signing key ($STRATA_HOME/cluster/signing-key.pem). */
  key: SigningKey;
  namespace: string;
}

/** The signed-in caller, as the web inbox knows it. */
export interface UiCaller {
  actor: string;
  roles: readonly Role[];
  /** The session object itself: tokens are kept per session. */
  session: object;
}

export interface TemporalUiHooks {
  caller(req: FastifyRequest): UiCaller | undefined;
  /** Records a refusal like every other refusal of the server. */
  recordRefusal(req: FastifyRequest, status: 401 | 403 | 405, reason: string): void;
}

/** How long a person's UI token lives; a new one is signed a minute before it ends. */
const TOKEN_TTL_S = 300;
const REQUEST_HEADERS = ['accept', 'accept-encoding', 'accept-language', 'if-none-match', 'if-modified-since'];
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'set-cookie',
  'content-security-policy',
  'access-control-allow-origin',
  'access-control-allow-credentials',
]);

/**
 * The Content-Security-Policy the UI's own index.html carries (its inline bootstrap script by hash,
 * `strict-dynamic` for what that loads), which the UI server drops when it rewrites the page for a
 * public path: recomputed here for the page as rewritten.
 */
export function uiPagePolicy(html: string): string {
  const hashes = [...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map(
    (m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`,
  );
  return [
    `script-src 'strict-dynamic' ${hashes.join(' ') || "'none'"}`,
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

export function registerTemporalUi(web: FastifyInstance, opts: TemporalUiOptions, hooks: TemporalUiHooks): void {
  const base = new URL(opts.url);
  const tokens = new WeakMap<object, { reader: string; clusterInfo: string; until: number }>();
  const tokensFor = (who: UiCaller) => {
    const held = tokens.get(who.session);
    if (held && held.until > Date.now()) return held;
    const fresh = {
      reader: webReaderToken(opts.key, who.actor, opts.namespace, TOKEN_TTL_S),
      clusterInfo: webClusterInfoToken(opts.key, who.actor, TOKEN_TTL_S),
      until: Date.now() + (TOKEN_TTL_S - 60) * 1000,
    };
    tokens.set(who.session, fresh);
    return fresh;
  };
  const api = `${TEMPORAL_UI_PATH}/api/v1`;
  const isApi = (req: FastifyRequest) => req.url.startsWith(`${TEMPORAL_UI_PATH}/api/`);
  const refuse = (req: FastifyRequest, reply: FastifyReply, status: 401 | 403 | 405, why: string) => {
    hooks.recordRefusal(req, status, why);
    if (status === 405) reply.header('allow', 'GET, HEAD');
    // The UI shows the message of a gRPC-gateway error body; PERMISSION_DENIED / UNAUTHENTICATED.
    return reply
      .code(status)
      .type('application/json; charset=utf-8')
      .send({ code: status === 401 ? 16 : 7, message: why });
  };

  /** The caller when it may read through the UI; otherwise the reply is sent and undefined returned. */
  const admitted = (req: FastifyRequest, reply: FastifyReply): UiCaller | undefined => {
    const who = hooks.caller(req);
    if (!who) {
      if (isApi(req) || req.method !== 'GET') void refuse(req, reply, 401, 'not signed in to strata serve');
      else void reply.redirect(`/ui/login?return=${encodeURIComponent(req.url)}`, 303);
      return undefined;
    }
    if (!satisfies(who.roles, 'reader')) {
      void refuse(req, reply, 403, `the Temporal Web UI needs a role (reader at least); ${who.actor} holds none`);
      return undefined;
    }
    return who;
  };

  const hide = { schema: { hide: true } };

  web.get(TEMPORAL_UI_PATH, hide, async (req, reply) => {
    if (!admitted(req, reply)) return reply;
    return reply.redirect(`${TEMPORAL_UI_PATH}/namespaces/${encodeURIComponent(opts.namespace)}/workflows`, 303);
  });

  web.get(`${TEMPORAL_UI_PATH}/*`, hide, async (req, reply) => {
    const who = admitted(req, reply);
    if (!who) return reply;
    const target = new URL(req.url, base);
    // A path that climbs out of the UI's prefix (/temporal/../x) is not the UI's.
    if (!target.pathname.startsWith(`${TEMPORAL_UI_PATH}/`) || target.origin !== base.origin)
      return reply.code(404).type('text/plain').send('not found');
    const held = tokensFor(who);
    const token = target.pathname === `${api}/cluster-info` ? held.clusterInfo : held.reader;
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    for (const name of REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const listsNamespaces = target.pathname === `${api}/namespaces`;
    if (listsNamespaces) {
      target.pathname = `${api}/namespaces/${encodeURIComponent(opts.namespace)}`;
      target.search = '';
      delete headers['accept-encoding'];
    }
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(target, {
        method: req.method === 'HEAD' ? 'HEAD' : 'GET',
        headers,
        headersTimeout: 30_000,
        bodyTimeout: 120_000,
      });
    } catch (err) {
      return reply
        .code(502)
        .type('text/plain; charset=utf-8')
        .send(
          `the Temporal Web UI server at ${base.origin} does not answer (${(err as Error).message}); ` +
            'start it with `strata cluster up --ui-port <port>`',
        );
    }
    if (listsNamespaces && res.statusCode === 200) {
      const described = (await res.body.json()) as unknown;
      return reply
        .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
        .type('application/json')
        .send({ namespaces: [described], nextPageToken: null });
    }
    reply.code(res.statusCode);
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined || DROPPED_RESPONSE_HEADERS.has(name)) continue;
      if (name === 'location' && typeof value === 'string' && value.startsWith(base.origin)) {
        reply.header(name, value.slice(base.origin.length) || '/');
        continue;
      }
      reply.header(name, value);
    }
    const type = String(res.headers['content-type'] ?? '');
    if (type.startsWith('text/html') && req.method === 'GET') {
      let body = Buffer.from(await res.body.arrayBuffer());
      if (res.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      reply.removeHeader('content-encoding');
      reply.removeHeader('content-length');
      reply.header('content-security-policy', uiPagePolicy(body.toString('utf8')));
      return reply.send(body);
    }
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    if (res.statusCode === 200 && target.pathname.startsWith(`${TEMPORAL_UI_PATH}/_app/immutable/`))
      reply.header('cache-control', 'private, max-age=86400, immutable');
    return reply.send(res.body);
  });

  // Writes (terminate, signal, reset, batch, start…) never pass, whatever the UI server's settings.
  web.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: `${TEMPORAL_UI_PATH}/*`,
    ...hide,
    onRequest: async (req, reply) => {
      if (!hooks.caller(req)) return refuse(req, reply, 401, 'not signed in to strata serve');
      return refuse(req, reply, 405, `the Temporal Web UI behind strata serve is read-only: ${req.method} refused`);
    },
    handler: async (_req, reply) => reply,
  });
}

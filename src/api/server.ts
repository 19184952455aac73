// `strata serve`: the one door for people and bots. Every route but the OpenAPI document and its
// rendered docs needs a bearer credential; the verified identity (never a request field) is the
// actor the workflows see; every refusal is logged.

import { registerCodecRoutes } from './codec-routes';
import { decideAs } from './decide';
import { registerWeb } from '../web/routes';
import type { TemporalUiOptions } from '../web/temporal-ui';
import { PayloadDecryptionError } from '../temporal/codec';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { type Client, ScheduleOverlapPolicy, WorkflowFailedError } from '@temporalio/client';
import { z } from 'zod';
import { AuditExportError, exportAuditTrail } from '../audit/export';
import { loadAuditKeyring } from '../audit/signing';
import { auditTrail } from '../audit/trail';
import { layerRange, parseLadder } from '../config/ladder';
import { PROMOTION_STATES } from '../domain/status';
import {
  abort,
  getStatus,
  listPromotions,
  PromotionNotFoundError,
  RefusedError,
  startPromotion,
} from '../temporal/promotions';
import { applyLadder, getLadderVersion, LadderNotFoundError, ladderVersions, listLadders } from '../temporal/ladders';
import { ConfigError } from '../validation/errors';
import { ApprovalRegistry } from '../data/approvals';
import {
  createDrillSchedule,
  deepestMessage,
  drillHistory,
  listDrillSchedules,
  runDrill,
  withSchedule,
} from '../temporal/drills';
import {
  breakLease,
  EnvironmentNotFoundError,
  getEnvironment,
  hold,
  listEnvironments,
  releaseHold,
  teardownLayer,
} from '../temporal/environments';
import type { rollback, RollbackResult } from '../../workflows/rollback';
import { DRILL_SCENARIOS, SERVER_FIELD, scenarioConfigProblem } from '../domain/drill';
import type { LadderSpec, LayerSpec } from '../domain/ladder';
import { LocalProvider } from '../providers/local';
import { type AccessPolicy, rolesOf } from './access';
import { actorOf, authOf, type BearerVerifier, TOKEN_ISSUER, type VerifiedIdentity } from './identity';
import { describeRequirement, parseRole, ROLE_SYNTAX, type Requirement, type Role, satisfies } from './roles';
import { type ApiStore, expiryOf, TokenStoreError } from './store';
import { UsageError } from '../validation/errors';
import { getRun, replayRun } from '../services/replay';
import { createKeyring, DEFAULT_KEYRING } from '../data/masking/keyring';
import { RunStore } from '../load/runs';
import { loadKeyring } from '../data/masking/keyring';
import { resolveUserPath } from '../tools/files';
import { DURATION_HINT, parseDuration } from '../domain/duration';
import {
  DEFAULT_UPLOAD_LIMIT_MIB,
  DIGEST,
  receiveCandidate,
  uploadedCandidate,
  UploadRefusedError,
  uploadSchema,
} from './upload';

export interface ServerOptions {
  client: Client;
  /** $STRATA_HOME: the dataset approval registry lives here. */
  home: string;
  taskQueue: string;
  /** The artifact store root ($STRATA_HOME/artifacts) promote seals candidates into. */
  artifacts: string;
  store: ApiStore;
  access: AccessPolicy;
  /** Verifies OIDC bearer JWTs (`verifyBearer` of src/api/oidc.ts, bound to access.yaml's `oidc`). */
  oidc?: BearerVerifier;
  /** The largest candidate upload, in MiB of request body (base64 JSON). @default 64 */
  uploadLimitMiB?: number;
  /** The Temporal Web UI's origin, allowed to call the codec routes from a browser (CORS). */
  codecCorsOrigin?: string;
  /** The cluster's Web UI server, proxied read-only at /temporal/* for signed-in web sessions. */
  temporalUi?: TemporalUiOptions;
}

/** Who is calling, once verified, and what they may do. */
interface Caller {
  identity: VerifiedIdentity;
  roles: Role[];
  actor: string;
  auth: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/** A zod schema as the JSON schema Fastify validates with and the OpenAPI document shows. */
function json(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return rest;
}

const reason = z.string().trim().min(1).describe('why; recorded with the action');
const idParams = z.object({ id: z.string().min(1).describe('the promotion id') });
const nameParams = z.object({ name: z.string().min(1) });
const layerParams = z.object({ layer: z.string().min(1) });
const scheduleParams = z.object({ id: z.string().min(1).describe('a drill schedule id (GET /drills/schedules)') });
const scheduleActionParams = z.object({
  id: z.string().min(1).describe('a drill schedule id (GET /drills/schedules)'),
  action: z.enum(['pause', 'resume', 'trigger', 'backfill']),
});
const runParams = z.object({ id: z.string().min(1).describe('a run id (GET /runs)') });
const digestParams = z.object({
  digest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .describe('a sha256 digest (hex)'),
});

class BadRequestError extends Error {
  override name = 'BadRequestError';
}

/** The layer named `name` in a stored ladder, or a 400 naming the field and the layers there are. */
function layerOf(ladder: LadderSpec, name: string): LayerSpec {
  const layer = ladder.layers.find((l) => l.name === name);
  if (!layer)
    throw new BadRequestError(
      `layer: unknown layer "${name}"; ladder "${ladder.name}" has ${ladder.layers.map((l) => l.name).join(', ')}`,
    );
  return layer;
}

/** Environment names present under $STRATA_HOME/envs. */
function presentEnvironments(provider: LocalProvider): string[] {
  if (!fs.existsSync(provider.envsDir)) return [];
  return fs
    .readdirSync(provider.envsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^[a-z][a-z0-9-]*$/.test(d.name))
    .map((d) => d.name)
    .sort();
}

export const schemas = {
  promote: z.strictObject({
    ladder: z.string().min(1).describe('a stored ladder (strata ladder apply)'),
    candidate: z
      .string()
      .regex(DIGEST)
      .describe('the sha256 digest of a candidate uploaded with PUT /candidates/{digest}'),
    from: z.string().optional(),
    to: z.string().optional(),
    version: z.number().int().min(1).optional().describe('the ladder version (default: current)'),
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/)
      .optional(),
  }),
  list: z.object({
    phase: z.enum(PROMOTION_STATES).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  }),
  decide: z.strictObject({
    layer: z.string().min(1),
    reason,
    evidence: z
      .strictObject({
        digest: z.string().regex(/^[0-9a-f]{64}$/),
        parts: z.record(z.string(), z.string()).optional(),
      })
      .optional()
      .describe('the evidence the approver was shown (its sha256 and each part’s); required by the layer'),
  }),
  abort: z.strictObject({ reason }),
  applyLadder: z.strictObject({ ladder: z.string().min(1).describe('the ladder.yaml text'), reason }),
  ladderVersion: z.object({ version: z.coerce.number().int().min(1).optional() }),
  createToken: z.strictObject({
    name: z.string().min(1),
    role: z.string().min(1).describe(ROLE_SYNTAX),
    expires: z.string().optional().describe('a duration such as 30d or 12h (default: never)'),
  }),
  holdRequest: z.strictObject({ reason }),
  drills: z.object({
    layer: z.string().min(1),
    limit: z.coerce.number().int().min(1).max(1000).default(50),
  }),
  rollback: z.strictObject({
    ladder: z.string().min(1).describe('a stored ladder (its layer gates check the rollback)'),
    layer: z.string().min(1),
    to: z.string().min(1).optional().describe('a version deployed there before (default: the last known-good one)'),
    reason,
  }),
  teardown: z
    .strictObject({
      layers: z.array(z.string().min(1)).min(1).optional().describe('the layers to tear down'),
      all: z.literal(true).optional().describe('every environment the server has, in place of layers'),
      reason,
    })
    .refine((b) => (b.layers === undefined) !== (b.all === undefined), {
      error: 'give exactly one of layers and all',
    }),
  schedule: z
    .strictObject({
      ladder: z
        .string()
        .min(1)
        .describe("a stored ladder (the layer's objectives; each run reads its current version)"),
      layer: z.string().min(1),
      scenario: z.enum(DRILL_SCENARIOS),
      cron: z.string().min(1).optional().describe('a five-field cron expression, e.g. "0 3 * * 1"'),
      every: z.string().min(1).optional().describe('an interval, e.g. 7d'),
      jitter: z.string().min(1).optional().describe('a random delay added to each run, e.g. 30m'),
    })
    .refine((b) => (b.cron === undefined) !== (b.every === undefined), {
      error: 'give exactly one of cron and every',
    }),
  scheduleAction: z.strictObject({
    from: z.iso.datetime({ offset: true }).optional().describe('backfill: the start (ISO time)'),
    to: z.iso.datetime({ offset: true }).optional().describe('backfill: the end (ISO time)'),
  }),
  repair: z.strictObject({}),
  replay: z.strictObject({}),
  keyringInit: z.strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/)
      .optional()
      .describe('the key name (default k1)'),
  }),
  drill: z.strictObject({
    ladder: z.string().min(1).describe("a stored ladder (the layer's objectives)"),
    layer: z.string().min(1),
    scenario: z.enum(DRILL_SCENARIOS),
    percent: z.number().gt(0).max(100).optional().describe('rows-corrupted: percent of rows to corrupt (default 10)'),
  }),
  unlock: z.strictObject({ reason }),
  dataApprove: z.strictObject({
    file: z.string().min(1).describe("the dataset file, on the server's filesystem"),
    reason,
  }),
  dataRevoke: z.strictObject({ reason }),
  refusals: z.object({ limit: z.coerce.number().int().min(1).max(10000).default(1000) }),
};

/** One Ajv error, as Fastify hands it to the error handler. */
interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** A request the schema refused, naming each field: `body: unknown field "colour"`. */
export function describeValidation(where: string, issues: readonly ValidationIssue[]): string {
  return issues
    .map((issue) => {
      const at = `${where}${issue.instancePath.replace(/\//g, '.')}`;
      if (issue.keyword === 'additionalProperties')
        return `${at}: unknown field "${String(issue.params.additionalProperty)}"`;
      if (issue.keyword === 'required') return `${at}: missing field "${String(issue.params.missingProperty)}"`;
      if (issue.keyword === 'enum')
        return `${at}: expected one of ${(issue.params.allowedValues as unknown[]).map(String).join(', ')}`;
      return `${at}: ${issue.message ?? issue.keyword}`;
    })
    .join('; ');
}

const errorBody = { type: 'object', properties: { error: { type: 'string' }, needed: { type: 'string' } } };

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const uploadLimitMiB = opts.uploadLimitMiB ?? DEFAULT_UPLOAD_LIMIT_MIB;
  // Fastify's default Ajv removes properties a schema does not declare: a misspelt field would be
  // dropped silently. Keep them, so that a strict body schema refuses them with 400 naming the field.
  const app = Fastify({
    logger: false,
    ajv: { customOptions: { removeAdditional: false } },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Strata API',
        version: '1',
        description:
          'Promotions, approvals, ladders and tokens. Every route needs a bearer token (API token or OIDC JWT).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const refuse = (req: FastifyRequest, reply: FastifyReply, status: 401 | 403 | 409, why: string, extra = {}) => {
    opts.store.recordRefusal({
      at: new Date().toISOString(),
      actor: req.caller?.actor ?? 'anonymous',
      auth: req.caller?.auth ?? why,
      method: req.method,
      route: req.url,
      status,
      reason: why,
      remote: req.ip,
    });
    return reply.code(status).send({ error: why, ...extra });
  };

  const identify = async (token: string): Promise<Caller | undefined> => {
    const record = opts.store.findToken(token);
    if (record) {
      const identity: VerifiedIdentity = {
        issuer: TOKEN_ISSUER,
        subject: record.name,
        display: record.name,
        groups: [],
        via: 'token',
      };
      return {
        identity,
        roles: rolesOf(opts.access, identity, record.role),
        actor: actorOf(identity),
        auth: authOf(identity),
      };
    }
    const identity = opts.oidc ? await opts.oidc(token).catch(() => undefined) : undefined;
    if (!identity) return undefined;
    return { identity, roles: rolesOf(opts.access, identity), actor: actorOf(identity), auth: authOf(identity) };
  };

  /** The onRequest hook of a route that needs `needed`: 401 without a valid credential, 403 without the role. */
  const guard = (needed: Requirement) => async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!token) {
      return refuse(
        req,
        reply,
        401,
        header ? 'malformed Authorization header (expected "Bearer <token>")' : 'no credentials',
      );
    }
    const caller = await identify(token);
    if (!caller) return refuse(req, reply, 401, 'invalid, expired or revoked credentials');
    req.caller = caller;
    if (!satisfies(caller.roles, needed)) {
      const held = caller.roles.length > 0 ? caller.roles.join(', ') : 'no role';
      return refuse(
        req,
        reply,
        403,
        `this needs the role ${describeRequirement(needed)}; ${caller.actor} holds ${held}`,
        {
          needed: describeRequirement(needed),
        },
      );
    }
  };

  const callerOf = (req: FastifyRequest): Caller => req.caller!;

  app.setErrorHandler((err, req, reply) => {
    const validation = (err as { validation?: ValidationIssue[]; validationContext?: string }).validation;
    if (validation) {
      const where = (err as { validationContext?: string }).validationContext ?? 'body';
      return reply.code(400).send({ error: describeValidation(where, validation) });
    }
    if (err instanceof RefusedError) return refuse(req, reply, 409, err.message);
    if (
      err instanceof PromotionNotFoundError ||
      err instanceof LadderNotFoundError ||
      err instanceof EnvironmentNotFoundError
    ) {
      return reply.code(404).send({ error: err.message });
    }
    if (err instanceof z.ZodError) {
      const issues = err.issues.map((i) => `${['body', ...i.path.map(String)].join('.')}: ${i.message}`);
      return reply.code(400).send({ error: issues.join('; ') });
    }
    if (
      err instanceof ConfigError ||
      err instanceof TokenStoreError ||
      err instanceof BadRequestError ||
      err instanceof UploadRefusedError ||
      err instanceof PayloadDecryptionError ||
      err instanceof UsageError ||
      err instanceof z.ZodError
    )
      return reply.code(400).send({ error: err.message });
    if ((err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.code(413).send({
        error:
          `the request body is larger than this server takes (${uploadLimitMiB} MiB for a candidate upload, ` +
          'as base64 JSON; 1 MiB elsewhere); raise it with strata serve --upload-limit, or make the candidate smaller',
      });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: (err as Error).message });
    req.log.error(err);
    return reply.code(500).send({ error: (err as Error).message });
  });

  const responses = { 401: errorBody, 403: errorBody };

  // The payloads of histories opened (or sealed) with this server's payload keyring, for the Web UI.
  registerCodecRoutes(app, {
    codecs: opts.client.options.loadedDataConverter.payloadCodecs,
    guard,
    json,
    ...(opts.codecCorsOrigin ? { corsOrigin: opts.codecCorsOrigin } : {}),
  });

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  app.get(
    '/whoami',
    { onRequest: guard('reader'), schema: { summary: 'the verified identity and its roles', response: responses } },
    (req) => {
      const c = callerOf(req);
      return { actor: c.actor, display: c.identity.display, via: c.identity.via, auth: c.auth, roles: c.roles };
    },
  );

  app.put<{ Params: { digest: string }; Body: z.infer<typeof uploadSchema> }>(
    '/candidates/:digest',
    {
      onRequest: guard('operator'),
      bodyLimit: Math.max(1, Math.floor(uploadLimitMiB * 1024 * 1024)),
      schema: {
        summary:
          "upload a candidate (candidate.yaml and its artifacts) into the server's artifact store under its digest; " +
          '400 when the files do not have that digest, 413 above the upload limit',
        params: json(digestParams),
        body: json(uploadSchema),
        response: responses,
      },
    },
    async (req, reply) => {
      const { candidate, reused } = await receiveCandidate(
        opts.artifacts,
        req.params.digest,
        uploadSchema.parse(req.body),
      );
      return reply
        .code(reused ? 200 : 201)
        .send({ digest: candidate.digest, name: candidate.name, version: candidate.version, reused });
    },
  );

  app.post<{ Body: z.infer<typeof schemas.promote> }>(
    '/promotions',
    {
      onRequest: guard('operator'),
      schema: { summary: 'promote a candidate up a stored ladder', body: json(schemas.promote), response: responses },
    },
    async (req, reply) => {
      const c = callerOf(req);
      const body = schemas.promote.parse(req.body);
      const candidate = await uploadedCandidate(opts.artifacts, body.candidate);
      const stored = await getLadderVersion(opts.client, opts.taskQueue, body.ladder, body.version);
      try {
        layerRange(stored.ladder, body.from, body.to);
      } catch (err) {
        return reply.code(400).send({ error: (err as Error).message });
      }
      const id = await startPromotion(opts.client, {
        id: body.id,
        ladder: { name: stored.ladder.name, version: stored.version, from: body.from, to: body.to },
        candidate,
        initiator: c.actor,
        auth: c.auth,
        taskQueue: opts.taskQueue,
        artifacts: opts.artifacts,
      });
      return reply.code(201).send({ id, ladder: stored.ladder.name, version: stored.version, initiator: c.actor });
    },
  );

  app.get(
    '/promotions',
    {
      onRequest: guard('reader'),
      schema: { summary: 'promotions, from Temporal visibility', querystring: json(schemas.list), response: responses },
    },
    async (req) => listPromotions(opts.client, schemas.list.parse(req.query)),
  );

  app.get<{ Params: { id: string } }>(
    '/promotions/:id',
    {
      onRequest: guard('reader'),
      schema: { summary: 'status of a promotion', params: json(idParams), response: responses },
    },
    async (req) => getStatus(opts.client, req.params.id),
  );

  for (const decision of ['approve', 'reject'] as const) {
    app.post<{ Params: { id: string }; Body: z.infer<typeof schemas.decide> }>(
      `/promotions/:id/${decision}`,
      {
        onRequest: guard('approver'),
        schema: {
          summary: `${decision} a layer awaiting approval`,
          params: json(idParams),
          body: json(schemas.decide),
          response: responses,
        },
      },
      async (req) => {
        const body = schemas.decide.parse(req.body);
        return decideAs(opts.client, req.params.id, decision, callerOf(req), body);
      },
    );
  }

  app.post<{ Params: { id: string }; Body: z.infer<typeof schemas.abort> }>(
    '/promotions/:id/abort',
    {
      onRequest: guard('operator'),
      schema: { summary: 'abort a promotion', params: json(idParams), body: json(schemas.abort), response: responses },
    },
    async (req) => {
      const c = callerOf(req);
      const body = schemas.abort.parse(req.body);
      return {
        id: req.params.id,
        ...(await abort(opts.client, req.params.id, { actor: c.actor, reason: body.reason, auth: c.auth })),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/promotions/:id/audit',
    {
      onRequest: guard('auditor'),
      schema: { summary: 'who did what, when and why', params: json(idParams), response: responses },
    },
    async (req) => {
      await getStatus(opts.client, req.params.id); // 404 for an unknown id
      return auditTrail(opts.client, req.params.id);
    },
  );

  app.get(
    '/audit/refusals',
    {
      onRequest: guard('auditor'),
      schema: {
        summary: 'refused API requests, newest first',
        querystring: json(schemas.refusals),
        response: responses,
      },
    },
    async (req) => opts.store.refusals(schemas.refusals.parse(req.query).limit),
  );

  // The signed, hash-chained export (src/audit/export.ts) of this server's task queue and home: it
  // advances the server's chain (its copy stays in $STRATA_HOME/audit/) and returns the file's text.
  const auditExportQuery = z.object({ since: z.iso.datetime().optional(), until: z.iso.datetime().optional() });
  app.get(
    '/audit/export',
    {
      onRequest: guard('auditor'),
      schema: {
        summary: 'export the audit entries not exported yet: signed JSONL continuing the chain',
        querystring: json(auditExportQuery),
        response: responses,
      },
    },
    async (req) => {
      const { since, until } = auditExportQuery.parse(req.query);
      const summary = await exportAuditTrail({
        client: opts.client,
        taskQueue: opts.taskQueue,
        home: opts.home,
        keyring: loadAuditKeyring(),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
      }).catch((err: unknown) => {
        // Another export running: the auditor may retry.
        throw err instanceof AuditExportError ? Object.assign(new Error(err.message), { statusCode: 409 }) : err;
      });
      return { summary, text: fs.readFileSync(summary.file, 'utf8') };
    },
  );

  app.get(
    '/ladders',
    { onRequest: guard('reader'), schema: { summary: 'stored ladders, current versions', response: responses } },
    async () => {
      const names = await listLadders(opts.client, opts.taskQueue);
      return Promise.all(names.map((n) => getLadderVersion(opts.client, opts.taskQueue, n)));
    },
  );

  app.get<{ Params: { name: string } }>(
    '/ladders/:name',
    {
      onRequest: guard('reader'),
      schema: {
        summary: 'one version of a stored ladder',
        params: json(nameParams),
        querystring: json(schemas.ladderVersion),
        response: responses,
      },
    },
    async (req) =>
      getLadderVersion(opts.client, opts.taskQueue, req.params.name, schemas.ladderVersion.parse(req.query).version),
  );

  app.get<{ Params: { name: string } }>(
    '/ladders/:name/history',
    {
      onRequest: guard('reader'),
      schema: { summary: 'every version of a stored ladder', params: json(nameParams), response: responses },
    },
    async (req) => ladderVersions(opts.client, opts.taskQueue, req.params.name),
  );

  app.post<{ Body: z.infer<typeof schemas.applyLadder> }>(
    '/ladders',
    {
      onRequest: guard('admin'),
      schema: { summary: 'store a ladder as a new version', body: json(schemas.applyLadder), response: responses },
    },
    async (req) => {
      const c = callerOf(req);
      const body = schemas.applyLadder.parse(req.body);
      const spec = parseLadder(body.ladder, '<request body>.ladder');
      return applyLadder(opts.client, opts.taskQueue, spec, {
        actor: c.actor,
        reason: `${body.reason} (via ${c.auth})`,
      });
    },
  );

  app.get(
    '/environments',
    {
      onRequest: guard('reader'),
      schema: { summary: 'environments: running version, lease, hold', response: responses },
    },
    async () => {
      const layers = await listEnvironments(opts.client, opts.taskQueue);
      return Promise.all(layers.map((l) => getEnvironment(opts.client, opts.taskQueue, l)));
    },
  );

  app.get<{ Params: { layer: string } }>(
    '/environments/:layer',
    {
      onRequest: guard('reader'),
      schema: {
        summary: "an environment's lease, hold and version history",
        params: json(layerParams),
        response: responses,
      },
    },
    async (req) => getEnvironment(opts.client, opts.taskQueue, req.params.layer),
  );

  for (const action of ['hold', 'release'] as const) {
    app.post<{ Params: { layer: string }; Body: z.infer<typeof schemas.holdRequest> }>(
      `/environments/:layer/${action}`,
      {
        onRequest: guard('operator'),
        schema: {
          summary: action === 'hold' ? 'refuse promotions into a layer until released' : 'release a hold',
          params: json(layerParams),
          body: json(schemas.holdRequest),
          response: responses,
        },
      },
      async (req) => {
        const c = callerOf(req);
        const request = { actor: c.actor, reason: `${schemas.holdRequest.parse(req.body).reason} (via ${c.auth})` };
        return action === 'hold'
          ? hold(opts.client, opts.taskQueue, req.params.layer, request)
          : releaseHold(opts.client, opts.taskQueue, req.params.layer, request);
      },
    );
  }

  app.post<{ Body: z.infer<typeof schemas.rollback> }>(
    '/rollbacks',
    {
      onRequest: guard('operator'),
      schema: {
        summary: "redeploy a layer's last known-good (or the named) version, checked by the layer's gates",
        body: json(schemas.rollback),
        response: responses,
      },
    },
    async (req): Promise<RollbackResult> => {
      const c = callerOf(req);
      const body = schemas.rollback.parse(req.body);
      const current = await getLadderVersion(opts.client, opts.taskQueue, body.ladder);
      const layer = layerOf(current.ladder, body.layer);
      // Refuse an impossible target before anything starts (the local provider shares STRATA_HOME).
      const provider = new LocalProvider(opts.home);
      const releases = await provider.releases(layer.name);
      if (body.to !== undefined && !releases.some((r) => r.version === body.to)) {
        throw new BadRequestError(
          `to: version ${body.to} was never deployed in ${layer.name} (deployed there: ${releases.map((r) => r.version).join(', ') || 'none'})`,
        );
      }
      if (body.to === undefined && !(await provider.knownGood(layer.name))) {
        throw new BadRequestError(
          `layer: ${layer.name} has no earlier known-good version to roll back to; name one with "to"`,
        );
      }
      // The workflow reads the layer's gates from this stored ladder version, the one checked above.
      const ladder = { name: current.ladder.name, version: current.version };
      const id = `rollback.${layer.name}.${randomBytes(3).toString('hex')}`;
      try {
        return await opts.client.workflow.execute<typeof rollback>('rollback', {
          workflowId: id,
          taskQueue: opts.taskQueue,
          args: [{ layer, ladder, toVersion: body.to, actor: c.actor, reason: `${body.reason} (via ${c.auth})` }],
        });
      } catch (err) {
        if (err instanceof WorkflowFailedError) throw new RefusedError(`rollback ${id} failed: ${deepestMessage(err)}`);
        throw err;
      }
    },
  );

  app.post<{ Body: z.infer<typeof schemas.teardown> }>(
    '/teardowns',
    {
      onRequest: guard('operator'),
      schema: {
        summary: "under each layer's lease, stop and remove its environment; recorded with who and why",
        body: json(schemas.teardown),
        response: responses,
      },
    },
    async (req) => {
      const c = callerOf(req);
      const body = schemas.teardown.parse(req.body);
      const provider = new LocalProvider(opts.home);
      const layers = body.all ? presentEnvironments(provider) : body.layers!;
      const missing: string[] = [];
      for (const layer of layers) if (!(await provider.describe(layer))) missing.push(layer);
      if (missing.length > 0)
        throw new BadRequestError(`layers: no environment ${missing.map((m) => `"${m}"`).join(', ')} to tear down`);
      const removed = [];
      for (const layer of layers) {
        removed.push(
          await teardownLayer(opts.client, opts.taskQueue, layer, {
            actor: c.actor,
            reason: `${body.reason} (via ${c.auth})`,
          }),
        );
      }
      return { removed: layers, results: removed };
    },
  );

  app.post<{ Body: z.infer<typeof schemas.drill> }>(
    '/drills',
    {
      onRequest: guard('operator'),
      schema: {
        summary: 'run a DR drill on a layer; the report says RTO and RPO against its objectives',
        body: json(schemas.drill),
        response: responses,
      },
    },
    async (req) => {
      const c = callerOf(req);
      const body = schemas.drill.parse(req.body);
      const current = await getLadderVersion(opts.client, opts.taskQueue, body.ladder);
      const layer = layerOf(current.ladder, body.layer);
      const problem = scenarioConfigProblem(body.scenario, layer.provider);
      if (problem)
        throw new BadRequestError(`${SERVER_FIELD}: layer ${layer.name} of ladder ${body.ladder}: ${problem}`);
      if (!layer.drills?.[body.scenario])
        throw new BadRequestError(
          `scenario: layer ${layer.name} of ladder ${body.ladder} declares no RTO/RPO objective for ${body.scenario}`,
        );
      const env = await new LocalProvider(opts.home).describe(layer.name);
      if (!env || !fs.existsSync(env.dbPath))
        throw new BadRequestError(
          `layer: ${layer.name} has no environment with a database to back up and drill; promote a candidate into it first`,
        );
      return runDrill(opts.client, opts.taskQueue, {
        layer,
        ladder: { name: body.ladder },
        scenario: body.scenario,
        percent: body.percent ?? 10,
        requestedBy: c.actor,
      });
    },
  );

  app.post<{ Params: { layer: string }; Body: z.infer<typeof schemas.unlock> }>(
    '/environments/:layer/unlock',
    {
      onRequest: guard('operator'),
      schema: {
        summary: 'take the lease from a holder that will never release it; the next waiter gets it',
        params: json(layerParams),
        body: json(schemas.unlock),
        response: responses,
      },
    },
    async (req) => {
      const c = callerOf(req);
      const body = schemas.unlock.parse(req.body);
      return breakLease(opts.client, opts.taskQueue, req.params.layer, {
        actor: c.actor,
        reason: `${body.reason} (via ${c.auth})`,
      });
    },
  );

  app.get(
    '/drills',
    {
      onRequest: guard('reader'),
      schema: { summary: "a layer's DR drills, newest first", querystring: json(schemas.drills), response: responses },
    },
    async (req) => {
      const q = schemas.drills.parse(req.query);
      return drillHistory(opts.client, opts.taskQueue, q.layer, q.limit);
    },
  );

  app.get(
    '/drills/schedules',
    { onRequest: guard('reader'), schema: { summary: 'drill schedules', response: responses } },
    async () => listDrillSchedules(opts.client, opts.taskQueue),
  );

  app.get(
    '/data/approvals',
    {
      onRequest: guard('steward'),
      schema: { summary: 'approved dataset digests (revoked ones marked)', response: responses },
    },
    () => new ApprovalRegistry(opts.home).list(),
  );

  app.post<{ Body: z.infer<typeof schemas.dataApprove> }>(
    '/data/approvals',
    {
      onRequest: guard('steward'),
      schema: {
        summary: "approve a dataset file's current content (its sha256 digest) for populating environments",
        body: json(schemas.dataApprove),
        response: responses,
      },
    },
    async (req, reply) => {
      const c = callerOf(req);
      const body = schemas.dataApprove.parse(req.body);
      if (!fs.existsSync(body.file)) throw new BadRequestError(`file: no such file on the server: ${body.file}`);
      const { approval, added } = await new ApprovalRegistry(opts.home).approve(body.file, c.actor, body.reason);
      return reply.code(added ? 201 : 200).send({ ...approval, added });
    },
  );

  app.delete<{ Params: { digest: string }; Body: z.infer<typeof schemas.dataRevoke> }>(
    '/data/approvals/:digest',
    {
      onRequest: guard('steward'),
      schema: {
        summary: 'revoke the approval of a dataset digest',
        params: json(digestParams),
        body: json(schemas.dataRevoke),
        response: responses,
      },
    },
    async (req) => {
      const c = callerOf(req);
      const body = schemas.dataRevoke.parse(req.body);
      return new ApprovalRegistry(opts.home).revoke(req.params.digest, c.actor, body.reason);
    },
  );

  /** A drill schedule of this server's task queue, or a 404: no route reaches other schedules. */
  const drillSchedule = (id: string) => {
    if (!id.startsWith(`${opts.taskQueue}.drill.`))
      throw Object.assign(new Error(`no drill schedule "${id}" (GET /drills/schedules lists them)`), {
        statusCode: 404,
      });
    return id;
  };

  app.post<{ Body: z.infer<typeof schemas.schedule> }>(
    '/drills/schedules',
    {
      onRequest: guard('operator'),
      schema: {
        summary: 'schedule recurring DR drills of a layer (a Temporal Schedule)',
        body: json(schemas.schedule),
        response: responses,
      },
    },
    async (req, reply) => {
      const c = callerOf(req);
      const body = schemas.schedule.parse(req.body);
      for (const [field, raw] of [
        ['every', body.every],
        ['jitter', body.jitter],
      ] as const)
        if (raw !== undefined && !((parseDuration(raw) ?? 0) > 0))
          throw new BadRequestError(`${field}: expected ${DURATION_HINT}, got "${raw}"`);
      const current = await getLadderVersion(opts.client, opts.taskQueue, body.ladder);
      const layer = layerOf(current.ladder, body.layer);
      if (!layer.drills?.[body.scenario])
        throw new BadRequestError(
          `scenario: layer ${layer.name} of ladder ${body.ladder} declares no RTO/RPO objective for ${body.scenario}`,
        );
      const id = await createDrillSchedule(opts.client, opts.taskQueue, {
        layer,
        ladder: { name: body.ladder },
        scenario: body.scenario,
        cron: body.cron,
        every: body.every,
        jitter: body.jitter,
        requestedBy: c.actor,
      });
      return reply.code(201).send({ id });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/drills/schedules/:id',
    {
      onRequest: guard('operator'),
      schema: { summary: 'delete a drill schedule', params: json(scheduleParams), response: responses },
    },
    async (req) => {
      const id = drillSchedule(req.params.id);
      await withSchedule(opts.client, id, (h) => h.delete());
      return { id, action: 'delete' };
    },
  );

  app.post<{ Params: { id: string; action: string }; Body: z.infer<typeof schemas.scheduleAction> }>(
    '/drills/schedules/:id/:action',
    {
      onRequest: guard('operator'),
      schema: {
        summary: 'pause, resume, trigger or backfill (from, to) a drill schedule',
        params: json(scheduleActionParams),
        body: json(schemas.scheduleAction),
        response: responses,
      },
    },
    async (req) => {
      const c = callerOf(req);
      const id = drillSchedule(req.params.id);
      const body = schemas.scheduleAction.parse(req.body ?? {});
      const action = req.params.action;
      let range: { start: Date; end: Date } | undefined;
      if (action === 'backfill') {
        const start = Date.parse(body.from ?? '');
        const end = Date.parse(body.to ?? '');
        if (Number.isNaN(start) || Number.isNaN(end) || start >= end)
          throw new BadRequestError('from, to: backfill needs two ISO times with from before to');
        range = { start: new Date(start), end: new Date(end) };
      }
      await withSchedule(opts.client, id, async (h) => {
        if (action === 'pause') await h.pause(`paused by ${c.actor} (via ${c.auth})`);
        else if (action === 'resume') await h.unpause(`resumed by ${c.actor} (via ${c.auth})`);
        else if (action === 'trigger') await h.trigger();
        // Backfill every missed firing, one after another (skip would start only one).
        else await h.backfill({ ...range!, overlap: ScheduleOverlapPolicy.BUFFER_ALL });
      });
      return { id, action };
    },
  );

  app.post<{ Params: { layer: string }; Body: z.infer<typeof schemas.repair> }>(
    '/environments/:layer/repair',
    {
      onRequest: guard('operator'),
      schema: {
        summary:
          'bring an environment with damaged or missing state back to a known condition (stop its processes, rebuild state.json, reseed on next use)',
        params: json(layerParams),
        body: json(schemas.repair),
        response: responses,
      },
    },
    async (req) => {
      schemas.repair.parse(req.body);
      const provider = new LocalProvider(opts.home);
      const layer = req.params.layer;
      if (!presentEnvironments(provider).includes(layer) && provider.events(layer).length === 0)
        throw Object.assign(new Error(`no environment "${layer}" on the server (GET /environments)`), {
          statusCode: 404,
        });
      return { layer, ...(await provider.repair(layer)) };
    },
  );

  app.get(
    '/runs',
    { onRequest: guard('reader'), schema: { summary: 'stored load runs, newest first', response: responses } },
    () => new RunStore(opts.home).list(),
  );

  app.get<{ Params: { id: string } }>(
    '/runs/:id',
    {
      onRequest: guard('reader'),
      schema: { summary: "a run's profile, seed, candidate and results", params: json(runParams), response: responses },
    },
    (req) => storedRun(req.params.id),
  );

  app.post<{ Params: { id: string }; Body: z.infer<typeof schemas.replay> }>(
    '/runs/:id/replay',
    {
      onRequest: guard('operator'),
      schema: {
        summary: "run a stored run's profile again against the same candidate in its layer; the new run",
        params: json(runParams),
        body: json(schemas.replay),
        response: responses,
      },
    },
    async (req, reply) => {
      storedRun(req.params.id);
      const run = await replayRun(opts.home, req.params.id, { log: () => {} });
      return reply.code(201).send(run);
    },
  );

  /** A stored run, or a 404 naming the id. */
  const storedRun = (id: string) => {
    try {
      return getRun(new RunStore(opts.home), id);
    } catch (err) {
      if (err instanceof UsageError) throw Object.assign(new Error(err.message), { statusCode: 404 });
      throw err;
    }
  };

  app.post<{ Body: z.infer<typeof schemas.keyringInit> }>(
    '/data/keyring',
    {
      onRequest: guard('steward'),
      schema: {
        summary:
          "create the server's masking keyring ($STRATA_KEYRING or ~/.config/strata/keyring.yaml) if it has none; never returns a secret",
        body: json(schemas.keyringInit),
        response: responses,
      },
    },
    async (req, reply) => {
      const body = schemas.keyringInit.parse(req.body ?? {});
      const file = resolveUserPath(process.env.STRATA_KEYRING ?? DEFAULT_KEYRING, process.cwd());
      if (fs.existsSync(file)) {
        const keyring = loadKeyring(file); // refuses a keyring in a repository or readable by others
        return { file, created: false, keys: keyring.names, active: keyring.active };
      }
      createKeyring(file, body.name ?? 'k1');
      const keyring = loadKeyring(file);
      return reply.code(201).send({ file, created: true, keys: keyring.names, active: keyring.active });
    },
  );

  app.get(
    '/access',
    {
      onRequest: guard('admin'),
      schema: { summary: "the access policy in force (access.yaml's oidc settings and grants)", response: responses },
    },
    () => ({ oidc: opts.access.oidc ?? null, grants: opts.access.grants }),
  );

  app.get(
    '/tokens',
    { onRequest: guard('admin'), schema: { summary: 'API tokens (never the tokens themselves)', response: responses } },
    () => opts.store.listTokens(),
  );

  app.post<{ Body: z.infer<typeof schemas.createToken> }>(
    '/tokens',
    {
      onRequest: guard('admin'),
      schema: {
        summary: 'create an API token; the reply shows it once',
        body: json(schemas.createToken),
        response: responses,
      },
    },
    async (req, reply) => {
      const c = callerOf(req);
      const body = schemas.createToken.parse(req.body);
      const role = parseRole(body.role);
      if (!role) return reply.code(400).send({ error: `role: expected ${ROLE_SYNTAX}, got "${body.role}"` });
      const expiresAt = body.expires ? expiryOf(body.expires) : undefined;
      const token = opts.store.createToken({ name: body.name, role, createdBy: c.actor, expiresAt });
      return reply.code(201).send({ name: body.name, role, token, expiresAt: expiresAt?.toISOString() ?? null });
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/tokens/:name',
    {
      onRequest: guard('admin'),
      schema: { summary: 'revoke an API token', params: json(nameParams), response: responses },
    },
    async (req, reply) => {
      if (!opts.store.revokeToken(req.params.name))
        return reply.code(404).send({ error: `no live token named "${req.params.name}"` });
      return { name: req.params.name, revoked: true };
    },
  );

  // The approver's web inbox at / and /ui/* (docs/web.md): its own sessions, CSRF and pages.
  await registerWeb(app, opts);

  return app;
}

// The codec endpoint of `strata serve` (Temporal's "codec server" protocol): the Temporal Web UI,
// or `temporal workflow show --codec-endpoint`, sends the payloads of a history here to have them
// opened with the keyring that sealed them (STRATA_PAYLOAD_KEYRING). Authenticated like every
// other route: decoding reads the audit trail's contents (auditor); encoding would let a caller
// write sealed inputs into workflows through the UI, so it needs admin.

import type { Payload, PayloadCodec } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Requirement } from './roles';

/** A payload as the codec protocol carries it: metadata values and data in base64. */
const jsonPayload = z.strictObject({
  metadata: z.record(z.string(), z.string()).optional(),
  data: z.string().optional(),
});
export const codecBody = z.strictObject({ payloads: z.array(jsonPayload) });
type JsonPayload = z.infer<typeof jsonPayload>;

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

export interface CodecRouteOptions {
  /** The payload codecs of this server (empty: payloads are not encrypted, the routes say so). */
  codecs: readonly PayloadCodec[];
  guard: (needed: Requirement) => (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /** The Web UI's origin allowed to call these routes from a browser (CORS), e.g. http://127.0.0.1:8233. */
  corsOrigin?: string;
  /** The zod → JSON schema conversion the server uses for its OpenAPI document. */
  json: (schema: z.ZodType) => unknown;
}

export function registerCodecRoutes(app: FastifyInstance, opts: CodecRouteOptions): void {
  const cors = (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    if (opts.corsOrigin && origin === opts.corsOrigin) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-credentials', 'true');
      reply.header('access-control-allow-headers', 'authorization, content-type, x-namespace');
      reply.header('access-control-allow-methods', 'POST, OPTIONS');
      reply.header('vary', 'origin');
    }
  };
  for (const [action, role] of [
    ['decode', 'auditor'],
    ['encode', 'admin'],
  ] as const) {
    const url = `/codec/${action}`;
    // The browser's preflight carries no credentials: it is answered without them, for the allowed origin only.
    app.options(url, { schema: { hide: true } }, async (req, reply) => {
      cors(req, reply);
      return reply.code(opts.corsOrigin && req.headers.origin === opts.corsOrigin ? 204 : 403).send();
    });
    app.post<{ Body: z.infer<typeof codecBody> }>(
      url,
      {
        onRequest: [async (req, reply) => cors(req, reply), opts.guard(role)],
        schema: {
          summary: `${action} payloads with the server's payload keyring (Temporal codec server protocol)`,
          body: opts.json(codecBody),
        },
      },
      async (req, reply) => {
        if (opts.codecs.length === 0) {
          return reply.code(409).send({
            error: 'payload encryption is not configured on this server (STRATA_PAYLOAD_KEYRING is not set)',
          });
        }
        const body = codecBody.parse(req.body);
        let payloads = body.payloads.map(fromJson);
        const codecs = action === 'decode' ? [...opts.codecs].reverse() : opts.codecs;
        for (const codec of codecs) payloads = await codec[action](payloads);
        return { payloads: payloads.map(toJson) };
      },
    );
  }
}

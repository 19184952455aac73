// The feature-lookup service of an environment: a separate local process holding the
// environment's features (read once from its database) and answering lookups by record key.
// The candidate calls it on every /predict, through a fault-injection proxy, so chaos gates and
// DR drills can take it away. Run as: node --import tsx feature-service.ts (env PORT, STRATA_DB_PATH,
// FEATURE_TABLE, FEATURE_KEY, FEATURE_COLUMNS=a,b; OTEL_EXPORTER_OTLP_ENDPOINT to continue traces).
import http from 'node:http';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import Database from 'better-sqlite3';
import { installTracing } from '../tracing/tracing';

type Features = Record<string, unknown>;

function load(): Map<string, Features> {
  const db = new Database(process.env.STRATA_DB_PATH ?? '', { readonly: true, fileMustExist: true });
  const table = process.env.FEATURE_TABLE ?? 'transactions';
  const key = process.env.FEATURE_KEY ?? 'txn_id';
  const columns = (process.env.FEATURE_COLUMNS ?? 'velocity_24h').split(',').filter(Boolean);
  const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;
  const rows = db
    .prepare(`SELECT ${[key, ...columns].map(quote).join(', ')} FROM ${quote(table)}`)
    .raw(true)
    .all() as unknown[][];
  db.close();
  return new Map(rows.map((r) => [String(r[0]), Object.fromEntries(columns.map((c, i) => [c, r[i + 1]]))]));
}

const features = load();
// With an OTLP endpoint, a lookup that carries a traceparent (the candidate's) is a server span in its trace.
const tracing = installTracing('strata-feature-service');

const server = http.createServer((req, res) => {
  const parent =
    tracing.enabled && req.headers.traceparent ? propagation.extract(context.active(), req.headers) : undefined;
  const span =
    parent && trace.getSpan(parent)
      ? tracing.tracer.startSpan(`${req.method} ${req.url}`, { kind: SpanKind.SERVER }, parent)
      : undefined;
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    if (span) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
  if (req.method === 'GET' && req.url === '/health') return reply(200, { status: 'ok', keys: features.size });
  if (req.method !== 'POST' || req.url !== '/features') return reply(404, { error: 'not found' });
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    try {
      const { keys } = JSON.parse(body) as { keys: unknown[] };
      if (!Array.isArray(keys)) return reply(400, { error: 'expected {"keys": [...]}' });
      const found: Record<string, Features> = {};
      for (const k of keys) {
        const f = features.get(String(k));
        if (f) found[String(k)] = f;
      }
      reply(200, { features: found });
    } catch (err) {
      reply(400, { error: (err as Error).message });
    }
  });
});
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => void tracing.shutdown().finally(() => process.exit(0))));

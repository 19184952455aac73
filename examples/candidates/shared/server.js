'use strict';
// Fraud-scoring example candidate: a logistic model (model.json beside this file) served over
// plain node:http, no dependencies. This one file serves every version; only model.json differs.
// Each version's candidate.yaml lists it as its `server.js` artifact (`from: ../shared/server.js`):
// the deployer installs it in the release beside that version's model.json, and the version's
// digest covers it. It runs from a release, not from this directory (there is no model.json here).
//
// Environment:
//   PORT            port to listen on (0 or unset: any free port; the address is logged)
//   HOST            interface to listen on, default 127.0.0.1
//   STRATA_DB_PATH  the environment's database; reported by /health, never opened here
//   STRATA_VERSION  version the deployer expects; a mismatch with model.json is logged
//   FEATURES_URL    the environment's feature-lookup service; when set (and model.json has a
//                   "dependency" block) every /predict looks the records' features up there first
//   OTEL_EXPORTER_OTLP_ENDPOINT  an OTLP/HTTP collector; when set, a request carrying a sampled W3C
//                   `traceparent` gets a server span, its feature lookup a client span (whose
//                   traceparent goes on to the feature service), sent as OTLP JSON (no packages)
//
// Missing values: a feature that candidate.yaml (beside this file; the deployer installs it with
// the artifacts) declares `nullable: true` may be null in a record, and is then imputed at the
// model's centre for each of its terms (the training mean of the term's input), so it adds nothing
// to the logit. A null in any other feature, or a feature absent from the record, is a 400.
//
// Endpoints:
//   GET  /health   200 {"status":"ok","name":...,"version":...,"db":...}
//   POST /predict  {"records":[{...features}]} -> 200 {"scores":[...]} | 400 {"error":...}
//                  | 503 {"error":...} when the feature lookup fails and the model does not fall back

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** How each transform reads its feature: the JSON type it expects and the term value it yields. */
const TRANSFORMS = {
  identity: { input: 'number', apply: (x) => x },
  log1p: { input: 'number', apply: (x) => Math.log1p(Math.max(x, 0)) },
  between: { input: 'number', apply: (x, term) => (x >= term.min && x <= term.max ? 1 : 0) },
  flag: { input: 'boolean', apply: (x) => (x ? 1 : 0) },
  equals: { input: 'string', apply: (x, term) => (x === term.value ? 1 : 0) },
};

class BadInput extends Error {}
class DependencyFailed extends Error {}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const SPAN_KIND = { server: 2, client: 3 };

/** The parent of a request's span: a sampled W3C traceparent, or null (not traced). */
function parseTraceparent(header) {
  const m = typeof header === 'string' ? TRACEPARENT.exec(header.trim()) : null;
  if (!m || /^0+$/.test(m[1]) || (parseInt(m[3], 16) & 1) === 0) return null;
  return { traceId: m[1], spanId: m[2] };
}

const nowNanos = () => (BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n).toString();

function otlpValue(value) {
  if (typeof value === 'boolean') return { boolValue: value };
  if (Number.isInteger(value)) return { intValue: String(value) };
  if (typeof value === 'number') return { doubleValue: value };
  return { stringValue: String(value) };
}

/**
 * A tracer that needs no packages: spans continue the trace of a sampled traceparent and leave in
 * batches as OTLP/HTTP JSON to `${endpoint}/v1/traces`. Null without an endpoint (tracing off).
 */
function createTracer(endpoint, serviceName) {
  if (!endpoint) return null;
  const url = `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  let queue = [];
  let timer = null;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (queue.length === 0) return Promise.resolve();
    const spans = queue;
    queue = [];
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: otlpValue(serviceName) }] },
          scopeSpans: [{ scope: { name: 'strata-example-candidate' }, spans }],
        },
      ],
    };
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    }).then(
      () => undefined,
      () => undefined, // a collector that is down costs the spans, never a request
    );
  };
  /** A span under `parent` ({traceId, spanId}); end() queues it. */
  const start = (name, kind, parent, attributes = {}) => {
    const spanId = crypto.randomBytes(8).toString('hex');
    const span = {
      traceId: parent.traceId,
      spanId,
      parentSpanId: parent.spanId,
      name,
      kind: SPAN_KIND[kind],
      startTimeUnixNano: nowNanos(),
      endTimeUnixNano: '0',
      attributes: Object.entries(attributes).map(([key, value]) => ({ key, value: otlpValue(value) })),
      status: { code: 0 },
    };
    return {
      context: { traceId: parent.traceId, spanId },
      traceparent: `00-${parent.traceId}-${spanId}-01`,
      set(key, value) {
        span.attributes.push({ key, value: otlpValue(value) });
      },
      fail(message) {
        span.status = { code: 2, message };
      },
      end() {
        span.endTimeUnixNano = nowNanos();
        queue.push(span);
        if (queue.length >= 256) void flush();
        else if (!timer) {
          timer = setTimeout(flush, 500);
          timer.unref();
        }
      },
    };
  };
  return { start, flush };
}

/**
 * Looks the records' fresh features up in the environment's feature service (model.dependency:
 * {key, timeoutMs, onFailure: "fallback" | "error"}). With "fallback" a failed lookup scores with
 * the features the request carried (degraded); with "error" the request fails with 503.
 */
async function lookupFeatures(model, records, featuresUrl, trace = null) {
  const dep = model.dependency;
  if (!featuresUrl || !dep) return { degraded: false };
  const keys = records.map((r) => r && r[dep.key]).filter((k) => k !== undefined && k !== null);
  if (keys.length === 0) return { degraded: false };
  // Traced: a client span for the lookup (through the fault-injection proxy), its traceparent sent on.
  const span = trace ? trace.tracer.start('feature lookup', 'client', trace.parent, { 'url.full': `${featuresUrl}/features`, 'strata.keys': keys.length }) : null;
  try {
    const headers = { 'content-type': 'application/json' };
    if (span) headers.traceparent = span.traceparent;
    const res = await fetch(`${featuresUrl}/features`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ keys }),
      signal: AbortSignal.timeout(dep.timeoutMs),
    });
    if (span) span.set('http.response.status_code', res.status);
    if (!res.ok) throw new Error(`feature service answered ${res.status}`);
    const { features } = await res.json();
    for (const record of records) Object.assign(record, features[record[dep.key]] || {});
    return { degraded: false };
  } catch (err) {
    const reason = err && err.name === 'TimeoutError' ? `no answer within ${dep.timeoutMs} ms` : err.message;
    if (span) span.fail(reason);
    if (dep.onFailure === 'fallback') return { degraded: true, reason };
    throw new DependencyFailed(`feature lookup failed: ${reason}`);
  } finally {
    if (span) span.end();
  }
}

/** Parses and checks a model object; throws with the offending field named. */
function parseModel(model, source = 'model.json') {
  const fail = (what) => {
    throw new Error(`${source}: ${what}`);
  };
  if (!model || typeof model !== 'object') fail('expected a JSON object');
  if (typeof model.name !== 'string' || typeof model.version !== 'string') fail('name and version must be strings');
  if (!Number.isFinite(model.intercept)) fail('intercept must be a finite number');
  if (!Array.isArray(model.terms) || model.terms.length === 0) fail('terms must be a non-empty array');
  const inputs = {};
  model.terms.forEach((term, i) => {
    const at = `terms[${i}]`;
    const transform = TRANSFORMS[term && term.transform];
    if (!transform) fail(`${at}.transform must be one of ${Object.keys(TRANSFORMS).join(', ')}`);
    if (typeof term.feature !== 'string' || term.feature === '') fail(`${at}.feature must be a feature name`);
    if (!Number.isFinite(term.weight)) fail(`${at}.weight must be a finite number`);
    if (term.center !== undefined && !Number.isFinite(term.center)) fail(`${at}.center must be a number`);
    if (term.scale !== undefined && !(Number.isFinite(term.scale) && term.scale > 0)) fail(`${at}.scale must be > 0`);
    if (term.transform === 'between' && !(Number.isFinite(term.min) && Number.isFinite(term.max))) {
      fail(`${at}: between needs numeric min and max`);
    }
    if (term.transform === 'equals' && typeof term.value !== 'string') fail(`${at}: equals needs a string value`);
    const previous = inputs[term.feature];
    if (previous && previous !== transform.input) fail(`${at}: feature ${term.feature} read both as ${previous} and ${transform.input}`);
    inputs[term.feature] = transform.input;
  });
  if (model.dependency !== undefined) {
    const dep = model.dependency;
    if (!dep || typeof dep.key !== 'string') fail('dependency.key must be the record field to look up by');
    if (!(Number.isFinite(dep.timeoutMs) && dep.timeoutMs > 0)) fail('dependency.timeoutMs must be > 0');
    if (dep.onFailure !== 'fallback' && dep.onFailure !== 'error') fail('dependency.onFailure must be "fallback" or "error"');
  }
  return { ...model, inputs };
}

function loadModel(file) {
  return parseModel(JSON.parse(fs.readFileSync(file, 'utf8')), file);
}

/** `text` without a trailing `# comment` (a # outside quotes, at the start or after a space). */
function stripComment(text) {
  let quote = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      return text.slice(0, i);
    }
  }
  return text;
}

/** The top-level `key: value` entries of a one-line YAML flow mapping `{ a: 1, b: [x, y] }`. */
function flowEntries(text, at) {
  const body = text.trim();
  if (!body.startsWith('{') || !body.endsWith('}')) throw new Error(`${at}: expected a { ... } mapping on one line`);
  const entries = [];
  let depth = 0;
  let quote = null;
  let start = 1;
  for (let i = 1; i < body.length - 1; i++) {
    const c = body[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      entries.push(body.slice(start, i));
      start = i + 1;
    }
  }
  entries.push(body.slice(start, body.length - 1));
  return entries
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const colon = entry.indexOf(':');
      return colon < 0 ? [entry, ''] : [entry.slice(0, colon).trim(), entry.slice(colon + 1).trim()];
    });
}

function yamlBoolean(text, at) {
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  throw new Error(`${at}: nullable must be true or false, got ${JSON.stringify(text)}`);
}

/**
 * The features that candidate.yaml's `input.features` declares `nullable: true`, written either
 * as a flow mapping on one line (`amount: { type: number, nullable: true }`) or as a block
 * (`nullable: true` indented under the feature). Not a YAML parser: this file needs no packages,
 * and the manifest is validated in full by Strata before any deploy; this reads only that flag.
 */
function nullableFeatures(text, source = 'candidate.yaml') {
  const nullable = new Set();
  const open = []; // the keys enclosing the current line: {indent, key}
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = stripComment(raw).trimEnd();
    const entry = /^(\s*)([A-Za-z_][\w-]*)\s*:(?:\s+(.*))?$/.exec(line);
    if (!entry) return; // blank lines, list items, continuation lines of a block scalar
    const indent = entry[1].length;
    while (open.length > 0 && open[open.length - 1].indent >= indent) open.pop();
    const [key, value = ''] = [entry[2], entry[3]];
    const at = `${source}: line ${i + 1}`;
    const within = open.map((o) => o.key).join('.');
    if (within === 'input.features' && value.startsWith('{')) {
      const flag = flowEntries(value, at).find(([name]) => name === 'nullable');
      if (flag && yamlBoolean(flag[1], at)) nullable.add(key);
    } else if (within.startsWith('input.features.') && open.length === 3 && key === 'nullable') {
      if (yamlBoolean(value, at)) nullable.add(open[2].key);
    }
    open.push({ indent, key });
  });
  return nullable;
}

/**
 * The model of the candidate in `dir` (its model.json), with the features its candidate.yaml
 * declares nullable; without a candidate.yaml no feature is.
 */
function loadCandidateModel(dir) {
  const model = loadModel(path.join(dir, 'model.json'));
  const manifest = path.join(dir, 'candidate.yaml');
  const nullable = fs.existsSync(manifest) ? nullableFeatures(fs.readFileSync(manifest, 'utf8'), manifest) : new Set();
  return { ...model, nullable };
}

/** Checks one record against the features the model reads; throws BadInput naming the field. */
function checkRecord(model, record, index) {
  const at = `records[${index}]`;
  if (!record || typeof record !== 'object' || Array.isArray(record)) throw new BadInput(`${at} must be an object`);
  for (const [feature, type] of Object.entries(model.inputs)) {
    const value = record[feature];
    if (value === undefined) throw new BadInput(`${at}.${feature} is missing`);
    if (value === null) {
      if (model.nullable && model.nullable.has(feature)) continue;
      throw new BadInput(`${at}.${feature} is missing (null, and candidate.yaml does not declare ${feature} nullable)`);
    }
    const ok =
      type === 'number'
        ? typeof value === 'number' && Number.isFinite(value)
        : type === 'boolean'
          ? typeof value === 'boolean' || value === 0 || value === 1
          : typeof value === 'string';
    if (!ok) throw new BadInput(`${at}.${feature}: expected ${type}, got ${JSON.stringify(value)}`);
  }
}

/** Fraud probability of one (already checked) record; a null (nullable) feature is imputed at each term's centre. */
function score(model, record) {
  let z = model.intercept;
  for (const term of model.terms) {
    const value = record[term.feature];
    if (value === null || value === undefined) continue; // (centre - centre) / scale = 0
    const raw = TRANSFORMS[term.transform].apply(value, term);
    z += term.weight * ((raw - (term.center ?? 0)) / (term.scale ?? 1));
  }
  return 1 / (1 + Math.exp(-z));
}

function predict(model, body) {
  if (!body || typeof body !== 'object' || !Array.isArray(body.records)) {
    throw new BadInput('body must be {"records": [ {...features}, ... ]}');
  }
  body.records.forEach((record, i) => checkRecord(model, record, i));
  return body.records.map((record) => score(model, record));
}

function send(res, status, payload) {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BadInput(`body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function createServer(model, { dbPath = null, featuresUrl = null, tracer = null } = {}) {
  return http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    const parent = tracer && pathname === '/predict' ? parseTraceparent(req.headers.traceparent) : null;
    if (parent) {
      const span = tracer.start('POST /predict', 'server', parent, { 'http.request.method': req.method, 'strata.version': model.version });
      res.on('finish', () => {
        span.set('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.fail(`HTTP ${res.statusCode}`);
        span.end();
      });
      req.trace = { tracer, parent: span.context };
    }
    try {
      if (pathname === '/health') {
        if (req.method !== 'GET') return send(res, 405, { error: 'use GET /health' });
        return send(res, 200, { status: 'ok', name: model.name, version: model.version, db: dbPath, dependency: featuresUrl });
      }
      if (pathname === '/predict') {
        if (req.method !== 'POST') return send(res, 405, { error: 'use POST /predict' });
        const text = await readBody(req);
        let body;
        try {
          body = JSON.parse(text);
        } catch (err) {
          throw new BadInput(`body is not valid JSON: ${err.message}`);
        }
        if (body && Array.isArray(body.records)) {
          const lookup = await lookupFeatures(model, body.records, featuresUrl, req.trace);
          if (lookup.degraded) res.setHeader('x-strata-degraded', lookup.reason);
        }
        return send(res, 200, { scores: predict(model, body) });
      }
      return send(res, 404, { error: `no route ${req.method} ${pathname}; try GET /health or POST /predict` });
    } catch (err) {
      if (err instanceof BadInput) return send(res, 400, { error: err.message });
      if (err instanceof DependencyFailed) return send(res, 503, { error: err.message });
      console.error(err);
      return send(res, 500, { error: 'internal error' });
    }
  });
}

function main() {
  const model = loadCandidateModel(__dirname);
  const expected = process.env.STRATA_VERSION;
  if (expected && expected !== model.version) {
    console.error(`warning: STRATA_VERSION is ${expected} but model.json is version ${model.version}`);
  }
  const host = process.env.HOST || '127.0.0.1';
  const port = Number(process.env.PORT || 0);
  const tracer = createTracer(process.env.OTEL_EXPORTER_OTLP_ENDPOINT || null, `${model.name} ${model.version}`);
  const server = createServer(model, {
    dbPath: process.env.STRATA_DB_PATH || null,
    featuresUrl: process.env.FEATURES_URL || null,
    tracer,
  });
  server.listen(port, host, () => {
    const address = server.address();
    console.log(JSON.stringify({ msg: 'listening', name: model.name, version: model.version, url: `http://${host}:${address.port}` }));
  });

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    console.log(JSON.stringify({ msg: 'stopping', signal }));
    const flushed = tracer ? tracer.flush() : Promise.resolve();
    server.close(() => flushed.then(() => process.exit(0)));
    server.closeIdleConnections();
    // Requests still in flight get a moment to finish, then their connections are cut.
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) {
  main();
}

module.exports = { TRANSFORMS, parseTraceparent, createTracer, parseModel, loadModel, nullableFeatures, loadCandidateModel, checkRecord, score, predict, createServer };

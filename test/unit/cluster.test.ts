import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import {
  ensureSigningKey,
  loadSigningKey,
  readerToken,
  serviceToken,
  tokenFromEnv,
  webReaderToken,
} from '../../src/temporal/auth';
import {
  CLUSTER_SERVICES,
  type ClusterPorts,
  INTERNAL_PORT_NAMES,
  parsePostgresUrl,
  redactedUrl,
  renderServerConfig,
  renderUiServerConfig,
} from '../../src/temporal/cluster-config';
import { uiPagePolicy } from '../../src/web/temporal-ui';
import { schemaSteps } from '../../src/temporal/cluster-schema';
import { TEMPORAL_SERVER_VERSION } from '../../src/temporal/cluster-tools';
import { DEFAULT_HISTORY_SHARDS } from '../../src/temporal/cluster';

const ROOT = path.resolve(__dirname, '../..');

function decode(token: string) {
  const [h, p, s] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()),
    signed: `${h}.${p}`,
    sig: s,
  };
}

describe('cluster tokens', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-keys-'));
  const key = ensureSigningKey(dir);

  it('keeps the signing key at mode 600 and publishes only its public half', () => {
    expect((fs.statSync(path.join(dir, 'signing-key.pem')).mode & 0o777).toString(8)).toBe('600');
    const jwks = JSON.parse(fs.readFileSync(path.join(dir, 'jwks.json'), 'utf8'));
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: key.kid });
    expect(jwks.keys[0].d).toBeUndefined();
    expect(ensureSigningKey(dir).kid).toBe(key.kid); // stable across calls
  });

  it('signs ES256 tokens the JWKS verifies, in the default claim mapper shape', () => {
    const t = decode(serviceToken(key, 'worker', 'strata'));
    expect(t.header).toMatchObject({ alg: 'ES256', kid: key.kid });
    expect(t.payload).toMatchObject({ sub: 'strata-worker', permissions: ['strata:write'] });
    const jwk = JSON.parse(fs.readFileSync(path.join(dir, 'jwks.json'), 'utf8')).keys[0];
    const ok = crypto.verify(
      'sha256',
      Buffer.from(t.signed),
      { key: crypto.createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
      Buffer.from(t.sig, 'base64url'),
    );
    expect(ok).toBe(true);
  });

  it("gives people read access at most, and refuses a service identity's name", () => {
    const t = decode(readerToken(key, 'erin', 'strata', 2));
    expect(t.payload.permissions).toEqual(['strata:read']);
    expect(t.payload.exp - t.payload.iat).toBe(7200);
    expect(() => readerToken(key, 'strata-worker', 'strata')).toThrow(/service identity/);
    expect(() => readerToken(key, 'a b', 'strata')).toThrow(/subject/);
  });

  it("signs a signed-in person's Web UI token: read only, five minutes, the verified actor as subject", () => {
    const t = decode(webReaderToken(loadSigningKey(dir), 'https://id.example.test#user-bob', 'strata'));
    expect(t.header.kid).toBe(key.kid);
    expect(t.payload).toMatchObject({ sub: 'https://id.example.test#user-bob', permissions: ['strata:read'] });
    expect(t.payload.exp - t.payload.iat).toBe(300);
    expect(() => webReaderToken(key, 'strata-worker', 'strata')).toThrow(/issuer>#<subject/);
    // serve never makes a key: a home without a cluster is an error naming the file.
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-nokey-'));
    expect(() => loadSigningKey(empty)).toThrow(/signing-key\.pem.*strata cluster up/);
    expect(fs.existsSync(path.join(empty, 'signing-key.pem'))).toBe(false);
  });

  it('reads the token from STRATA_TEMPORAL_TOKEN or the file STRATA_TEMPORAL_TOKEN_FILE names', () => {
    const file = path.join(dir, 't');
    fs.writeFileSync(file, 'abc\n');
    expect(tokenFromEnv({ STRATA_TEMPORAL_TOKEN: 'xyz' })).toBe('xyz');
    expect(tokenFromEnv({ STRATA_TEMPORAL_TOKEN_FILE: file })).toBe('abc');
    expect(tokenFromEnv({})).toBeUndefined();
    expect(() => tokenFromEnv({ STRATA_TEMPORAL_TOKEN_FILE: path.join(dir, 'missing') })).toThrow(
      /STRATA_TEMPORAL_TOKEN_FILE=.*missing/,
    );
  });
});

describe('cluster config', () => {
  it('reads a postgres URL and names what is wrong with a bad one', () => {
    const pg = parsePostgresUrl('postgres://tem%40p:s3cr%2Ft@db.internal:6543/prod?sslmode=require');
    expect(pg).toMatchObject({
      host: 'db.internal',
      port: 6543,
      user: 'tem@p',
      password: 's3cr/t',
      database: 'prod',
      visibilityDatabase: 'prod_visibility',
      attributes: { sslmode: 'require' },
    });
    expect(parsePostgresUrl('postgres://u@h/').database).toBe('temporal');
    expect(redactedUrl(pg)).not.toContain('s3cr');
    expect(() => parsePostgresUrl('not a url')).toThrow(/--postgres: expected a URL/);
    expect(() => parsePostgresUrl('mysql://u@h/x')).toThrow(/postgres:\/\/ URL/);
    expect(() => parsePostgresUrl('postgres://h/x')).toThrow(/no user/);
    expect(() => parsePostgresUrl('postgres://u@h/bad-name')).toThrow(/database "bad-name"/);
  });

  it('renders PostgreSQL persistence and visibility, the JWT authorizer and all services in one process', () => {
    const ports = Object.fromEntries([
      ['frontend', 7233],
      ...INTERNAL_PORT_NAMES.map((n, i) => [n, 20000 + i]),
    ]) as unknown as ClusterPorts;
    const cfg = parse(
      renderServerConfig({
        postgres: parsePostgresUrl('postgres://u:p@127.0.0.1:5432/temporal'),
        ports,
        ip: '127.0.0.1',
        historyShards: 4,
        jwksUrl: 'http://127.0.0.1:9/jwks.json',
        dynamicConfigFile: '/x/dynamic.yaml',
      }),
    );
    expect(cfg.persistence.numHistoryShards).toBeGreaterThanOrEqual(4);
    expect(cfg.persistence.datastores[cfg.persistence.defaultStore].sql).toMatchObject({
      pluginName: 'postgres12',
      databaseName: 'temporal',
    });
    expect(cfg.persistence.datastores[cfg.persistence.visibilityStore].sql).toMatchObject({
      pluginName: 'postgres12',
      databaseName: 'temporal_visibility',
    });
    expect(cfg.global.authorization).toMatchObject({
      authorizer: 'default',
      claimMapper: 'default',
      jwtKeyProvider: { keySourceURIs: ['http://127.0.0.1:9/jwks.json'] },
    });
    expect(Object.keys(cfg.services).sort()).toEqual([...CLUSTER_SERVICES].sort());
    // Membership ports go to a SMALLINT column.
    for (const svc of Object.values(cfg.services) as { rpc: { membershipPort: number } }[])
      expect(svc.rpc.membershipPort).toBeLessThan(32768);
  });
});

// docker-compose.yml: no Docker engine here, so the file is linted against the structure it must
// have and against what the tested code does (server version, schema steps, namespace, workers).
const service = z
  .object({
    image: z.string().min(1),
    command: z.union([z.string(), z.array(z.string())]).optional(),
    entrypoint: z.union([z.string(), z.array(z.string())]).optional(),
    environment: z.record(z.string(), z.string()).optional(),
    depends_on: z
      .union([
        z.array(z.string()),
        z.record(
          z.string(),
          z
            .object({ condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']) })
            .strict(),
        ),
      ])
      .optional(),
    ports: z.array(z.string().regex(/^(\d+\.\d+\.\d+\.\d+:)?\d+:\d+$/)).optional(),
    volumes: z.array(z.string()).optional(),
    working_dir: z.string().optional(),
    healthcheck: z
      .object({ test: z.array(z.string()), interval: z.string(), retries: z.number() })
      .strict()
      .optional(),
    stop_grace_period: z.string().optional(),
  })
  .strict();
const compose = z
  .object({ services: z.record(z.string(), service), volumes: z.record(z.string(), z.null()).optional() })
  .catchall(z.unknown());

describe('the Web UI server config', () => {
  it('listens on loopback under /temporal with sign-in, token forwarding and every write action off', () => {
    const config = parse(
      renderUiServerConfig({ temporalAddress: '127.0.0.1:7233', port: 8233, namespace: 'strata' }),
    ) as Record<string, unknown>;
    expect(config).toMatchObject({
      temporalGrpcAddress: '127.0.0.1:7233',
      host: '127.0.0.1',
      port: 8233,
      publicPath: '/temporal',
      enableUi: true,
      defaultNamespace: 'strata',
      auth: { enabled: false },
      disableWriteActions: true,
      forwardHeaders: [],
    });
    for (const [k, v] of Object.entries(config))
      if (/Disabled$/.test(k) && k !== 'refreshWorkflowCountsDisabled') expect(v, k).toBe(true);
    expect(config.codec).toBeUndefined();
  });

  it("restores the UI page's script policy by the hash of its bootstrap script", () => {
    const script = '\n{ __sveltekit_x = { base: "/temporal" }; }\n';
    const html = `<head><script src="/a.js"></script></head><body><div><script>${script}</script></div></body>`;
    const hash = crypto.createHash('sha256').update(script).digest('base64');
    expect(uiPagePolicy(html)).toBe(
      `script-src 'strict-dynamic' 'sha256-${hash}'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'`,
    );
    expect(uiPagePolicy('<p>no scripts</p>')).toMatch(/^script-src 'strict-dynamic' 'none';/);
  });
});

describe('docker-compose.yml', () => {
  const text = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
  const doc = compose.parse(parse(text, { merge: true }));
  const services = doc.services;

  it('is valid YAML of the compose structure, and every dependency names a service', () => {
    for (const [name, svc] of Object.entries(services)) {
      const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
      for (const d of deps) expect(services, `${name} depends on ${d}`).toHaveProperty(d);
    }
  });

  it('runs the tested server version with the JWT authorizer and the same shards', () => {
    expect(services.temporal.image).toBe(`temporalio/server:${TEMPORAL_SERVER_VERSION}`);
    expect(services['temporal-schema'].image).toBe(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`);
    expect(services.temporal.environment).toMatchObject({
      DB: 'postgres12',
      NUM_HISTORY_SHARDS: String(DEFAULT_HISTORY_SHARDS),
      TEMPORAL_AUTH_AUTHORIZER: 'default',
      TEMPORAL_AUTH_CLAIM_MAPPER: 'default',
      USE_INTERNAL_FRONTEND: 'true',
    });
    expect(services.temporal.environment?.TEMPORAL_JWT_KEY_SOURCE1).toMatch(/^http:\/\/strata-jwks:8080\/jwks\.json$/);
  });

  it('sets the schemas up with the same SQL tool steps as `strata cluster up`', () => {
    const script = ([] as string[]).concat(services['temporal-schema'].command ?? []).join('\n');
    const lines = script
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const expected = schemaSteps(parsePostgresUrl('postgres://temporal:temporal@postgresql:5432/temporal')).map(
      (s) => `temporal-sql-tool --plugin postgres12 --db ${s.database} ${s.args.join(' ')}`,
    );
    expect(lines).toEqual(expected);
  });

  it('prepares the namespace strata and runs two workers with the worker token', () => {
    const cmd = (name: string) => ([] as string[]).concat(services[name].command ?? []).join(' ');
    expect(cmd('strata-prepare')).toContain('cluster prepare');
    expect(services['strata-prepare'].environment).toMatchObject({
      TEMPORAL_NAMESPACE: 'strata',
      TEMPORAL_ADDRESS: 'temporal:7233',
    });
    const workerNames = Object.keys(services).filter((n) => cmd(n).includes('src/cli/main.ts worker'));
    expect(workerNames.length).toBeGreaterThanOrEqual(2);
    for (const n of workerNames) {
      expect(services[n].environment).toMatchObject({
        TEMPORAL_NAMESPACE: 'strata',
        STRATA_TEMPORAL_TOKEN_FILE: '/strata/cluster/tokens/worker.token',
      });
    }
    expect(text).toMatch(/strata-api/); // the API's place, for when it exists
  });
});

describe('strata cluster and worker flags', () => {
  it('exits 2 on bad input, naming the flag, before starting anything', async () => {
    const { main } = await import('../../src/cli/main');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-cli-'));
    process.env.STRATA_HOME = home;
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (errors.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      expect(await main(['node', 'strata', 'cluster', 'up', '--postgres', 'mysql://u@h/x'])).toBe(2);
      expect(await main(['node', 'strata', 'cluster', 'up', '--postgres', 'postgres://u@h/t', '--shards', '2'])).toBe(
        2,
      );
      expect(await main(['node', 'strata', 'cluster', 'up', '--ui-port', 'web'])).toBe(2);
      expect(await main(['node', 'strata', 'cluster', 'up', '--ui-port', '8233', '--no-ui'])).toBe(2);
      expect(await main(['node', 'strata', 'serve', '--temporal-ui', 'http://127.0.0.1:8233/temporal'])).toBe(2);
      expect(await main(['node', 'strata', 'serve', '--temporal-ui', 'http://127.0.0.1:8233'])).toBe(2); // no sign-in
      expect(await main(['node', 'strata', 'cluster', 'token'])).toBe(2);
      expect(await main(['node', 'strata', 'cluster', 'token', '--service', 'root'])).toBe(2);
      expect(await main(['node', 'strata', 'worker', '--max-concurrent-activities', '0'])).toBe(2);
      expect(await main(['node', 'strata', 'worker', '--drain-timeout', 'soon'])).toBe(2);
      process.env.STRATA_TEMPORAL_TOKEN_FILE = path.join(home, 'nope');
      expect(await main(['node', 'strata', 'cluster', 'status'])).toBe(2);
    } finally {
      process.stderr.write = write;
      delete process.env.STRATA_TEMPORAL_TOKEN_FILE;
    }
    const text = errors.join('');
    for (const flag of [
      '--postgres',
      '--ui-port',
      '--no-ui',
      '--temporal-ui',
      'oidc.webClientId',
      '--shards',
      '--service',
      '--max-concurrent-activities',
      '--drain-timeout',
      'STRATA_TEMPORAL_TOKEN_FILE',
    ]) {
      expect(text).toContain(flag);
    }
    expect(fs.existsSync(path.join(home, 'cluster', 'cluster.json'))).toBe(false);
  });
});

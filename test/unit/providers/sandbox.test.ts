import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { candidateUser, childEnvironment, prepareSandbox, SandboxError } from '../../../src/providers/sandbox';

const isRoot = process.getuid?.() === 0;

describe('childEnvironment', () => {
  const worker: NodeJS.ProcessEnv = {
    PATH: '/usr/local/bin:/usr/bin',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    HOME: '/root',
    USER: 'root',
    STRATA_HOME: '/var/lib/strata',
    STRATA_KEYRING: '/root/.config/strata/keyring.yaml',
    STRATA_TEMPORAL_TOKEN: 'secret-token',
    STRATA_TEMPORAL_TOKEN_FILE: '/var/lib/strata/cluster/tokens/worker.token',
    TEMPORAL_ADDRESS: '127.0.0.1:7233',
    TEMPORAL_CLI: '/opt/temporal',
    NODE_OPTIONS: '--require /tmp/inject.js',
    AWS_SECRET_ACCESS_KEY: 'aws-secret',
    DATABASE_URL: 'postgres://u:p@db/x',
  };

  it('passes PATH, LANG and TZ, its own HOME and the given variables, and nothing else of the worker', () => {
    const env = childEnvironment(worker, '/srv/envs/sandbox/home', { PORT: '4000', STRATA_LAYER: 'sandbox' });
    expect(env).toEqual({
      PATH: '/usr/local/bin:/usr/bin',
      LANG: 'C.UTF-8',
      TZ: 'UTC',
      HOME: '/srv/envs/sandbox/home',
      PORT: '4000',
      STRATA_LAYER: 'sandbox',
    });
  });

  it('leaves out variables the worker does not have', () => {
    expect(childEnvironment({ STRATA_KEYRING: '/k' }, '/h', {})).toEqual({ HOME: '/h' });
  });

  it('passes the OTLP endpoint when the worker traces, never the exporter headers (credentials)', () => {
    const tracing = {
      ...worker,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer collector-secret',
    };
    const env = childEnvironment(tracing, '/h', {});
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://collector:4318');
    expect(Object.keys(env).filter((k) => k.startsWith('OTEL_'))).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT']);
    expect(JSON.stringify(env)).not.toContain('collector-secret');
    // STRATA_TRACING=0 turns it off whatever the endpoint.
    expect(childEnvironment({ ...tracing, STRATA_TRACING: '0' }, '/h', {}).OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
  });
});

describe('prepareSandbox', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-sandbox-unit-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const mode = (file: string) => fs.statSync(file).mode & 0o777;

  function layout() {
    const home = path.join(root, 'home');
    const envDir = path.join(home, 'envs', 'sandbox');
    const release = path.join(envDir, 'releases', '1.0.0-abc');
    fs.mkdirSync(path.join(release, 'lib'), { recursive: true, mode: 0o700 });
    fs.chmodSync(home, 0o700);
    fs.chmodSync(path.join(home, 'envs'), 0o700);
    fs.chmodSync(path.join(envDir, 'releases'), 0o700);
    fs.writeFileSync(path.join(release, 'server.js'), '', { mode: 0o600 });
    fs.writeFileSync(path.join(release, 'lib', 'model.json'), '', { mode: 0o640 });
    fs.writeFileSync(path.join(envDir, 'credentials.json'), '{}', { mode: 0o600 });
    fs.mkdirSync(path.join(home, 'cluster'), { mode: 0o700 });
    fs.writeFileSync(path.join(home, 'keyring.yaml'), '', { mode: 0o600 });
    return { home, envDir, release };
  }

  it('without a user to switch to, only makes HOME and changes no mode', () => {
    const { home, envDir, release } = layout();
    prepareSandbox({
      runAs: null,
      strataHome: home,
      reach: [envDir],
      readable: [release],
      home: path.join(envDir, 'home'),
    });
    expect(mode(path.join(envDir, 'home'))).toBe(0o700);
    expect(mode(home)).toBe(0o700);
    expect(mode(path.join(release, 'server.js'))).toBe(0o600);
  });

  it.skipIf(!isRoot)(
    'opens the way to the release (traverse, read) and owns HOME to the user, leaving secrets alone',
    () => {
      const { home, envDir, release } = layout();
      fs.chmodSync(root, 0o755);
      const candidateHome = path.join(envDir, 'home');
      prepareSandbox({
        runAs: { user: 'nobody', uid: 65534, gid: 65534 },
        strataHome: home,
        reach: [envDir],
        readable: [release],
        home: candidateHome,
      });
      expect(mode(home)).toBe(0o701); // traverse, not list
      expect(mode(path.join(home, 'envs'))).toBe(0o701);
      expect(mode(envDir) & 0o001).toBe(0o001);
      expect(mode(path.join(envDir, 'releases'))).toBe(0o701);
      expect(mode(release)).toBe(0o705);
      expect(mode(path.join(release, 'lib'))).toBe(0o705);
      expect(mode(path.join(release, 'server.js'))).toBe(0o604);
      expect(mode(path.join(release, 'lib', 'model.json'))).toBe(0o644);
      expect(mode(path.join(envDir, 'credentials.json'))).toBe(0o600);
      expect(mode(path.join(home, 'keyring.yaml'))).toBe(0o600);
      expect(mode(path.join(home, 'cluster'))).toBe(0o700);
      expect(fs.statSync(candidateHome).uid).toBe(65534);
      expect(mode(candidateHome)).toBe(0o700);
    },
  );

  it.skipIf(!isRoot)('refuses, naming the folder and the fix, when a folder above STRATA_HOME is closed', () => {
    const { home, envDir, release } = layout();
    fs.chmodSync(root, 0o700);
    const run = () =>
      prepareSandbox({
        runAs: { user: 'nobody', uid: 65534, gid: 65534 },
        strataHome: home,
        reach: [envDir],
        readable: [release],
        home: path.join(envDir, 'home'),
      });
    expect(run).toThrow(SandboxError);
    expect(run).toThrow(`${root} is not traversable by others (mode 700)`);
    expect(run).toThrow(`chmod o+x ${root}`);
    expect(mode(root)).toBe(0o700);
  });
});

describe.skipIf(!isRoot)('candidateUser (as root)', () => {
  it('creates or reuses an unprivileged system user, the same one each time', () => {
    const first = candidateUser({});
    expect(first?.user).toBe('strata-candidate');
    expect(first!.uid).toBeGreaterThan(0);
    expect(first!.gid).toBeGreaterThan(0);
    expect(candidateUser({})).toEqual(first);
  });

  it('refuses a bad user name and root', () => {
    expect(() => candidateUser({ STRATA_CANDIDATE_USER: 'Not A Name' })).toThrow(
      'STRATA_CANDIDATE_USER=Not A Name: not a valid user name',
    );
    expect(() => candidateUser({ STRATA_CANDIDATE_USER: 'root' })).toThrow('has uid or gid 0');
  });

  it('names the useradd command when the user cannot be created', () => {
    const pathBefore = process.env.PATH;
    process.env.PATH = '/nonexistent'; // no getent, no useradd
    try {
      expect(() => candidateUser({ STRATA_CANDIDATE_USER: 'strata-no-such-user' })).toThrow(
        '`useradd --system --no-create-home --shell /usr/sbin/nologin strata-no-such-user` failed',
      );
    } finally {
      process.env.PATH = pathBefore;
    }
  });
});

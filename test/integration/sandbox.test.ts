import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring } from '../../src/cli/data/keyring';
import { storeCandidate } from '../../src/artifacts/store';
import { loadCandidate } from '../../src/config/candidate';
import { strataPaths } from '../../src/paths';
import { LocalProvider } from '../../src/providers/local';
import { DEFAULT_CANDIDATE_USER } from '../../src/providers/sandbox';
import { ensureServiceTokenFile } from '../../src/temporal/cluster';
import { processAlive, processEnviron, tsxLoaderUrl, waitForExit } from '../../src/tools/processes';
import { ROOT, teardownHome, tempHome } from '../helpers/harness';

// A hostile candidate, started by a real worker process whose environment holds the keyring path,
// a Temporal token and a Temporal address, tries at start to read the keyring, the cluster's
// signing key and worker token, its environment's credentials and the worker's
// /proc/<pid>/environ (found through its parent chain and a scan of /proc). Strata runs as root
// here (as in CI), so the candidate runs as the unprivileged strata-candidate user with an
// allow-listed environment, and gets nothing.

const isRoot = process.getuid?.() === 0;
const HANDED = [
  'PATH',
  'LANG',
  'LC_ALL',
  'TZ',
  'HOME',
  'HOST',
  'PORT',
  'FEATURES_URL',
  'STRATA_DB_PATH',
  'STRATA_LAYER',
  'STRATA_VERSION',
  'STRATA_ENV_DIR',
  'STRATA_PROCESS_TOKEN',
  'STRATA_PROCESS_ROLE',
];

interface Attempt {
  path: string;
  read: boolean;
  code?: string;
}
interface Report {
  uid: number;
  gid: number;
  ppid: number;
  env: string[];
  home: string;
  attempts: Attempt[];
  parentEnvirons: Attempt[];
  leaks: Array<{ pid: number; names: string[] }>;
}

let home: string;
let worker: ChildProcess | undefined;
let deployed: { url: string; pid: number };
let secrets: string[];

function uidOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
}

/** The first line the worker prints: where its candidate listens, or why it failed. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve(line));
    child.once('exit', (code) => reject(new Error(`the sandbox worker exited with code ${code} before deploying`)));
  });
}

async function report(): Promise<Report> {
  const res = await request(`${deployed.url}/report`);
  return (await res.body.json()) as Report;
}

describe.skipIf(!isRoot)(
  'a candidate gets no secrets (needs root: Strata switches users only when it runs as root)',
  () => {
    beforeAll(async () => {
      home = tempHome('sandbox');
      const keyring = path.join(home, 'keyring.yaml');
      createKeyring(keyring);
      const token = ensureServiceTokenFile(home, 'worker', 'strata');
      secrets = [keyring, token, path.join(home, 'cluster', 'signing-key.pem')];
      fs.writeFileSync(path.join(home, 'temporal.db'), 'histories', { mode: 0o644 }); // as the dev server leaves it
      worker = spawn(
        process.execPath,
        [
          '--import',
          tsxLoaderUrl(),
          path.join(ROOT, 'test/integration/support/sandbox-worker.ts'),
          home,
          path.join(ROOT, 'test/fixtures/candidates/hostile'),
        ],
        {
          stdio: ['pipe', 'pipe', 'inherit'],
          env: {
            ...process.env,
            STRATA_HOME: home,
            STRATA_KEYRING: keyring,
            STRATA_TEMPORAL_TOKEN: 'canary-temporal-token',
            STRATA_TEMPORAL_TOKEN_FILE: token,
            TEMPORAL_ADDRESS: '127.0.0.1:7233',
          },
        },
      );
      deployed = JSON.parse(await firstLine(worker)) as { url: string; pid: number };
    });

    afterAll(async () => {
      if (worker?.pid && processAlive(worker.pid)) {
        worker.stdin!.end();
        await waitForExit(worker.pid, 5_000);
      }
      if (home) await teardownHome(home);
    });

    it('runs the candidate and the feature service as the unprivileged user, with a HOME of their own', async () => {
      const uid = Number(execFileSync('id', ['-u', DEFAULT_CANDIDATE_USER], { encoding: 'utf8' }).trim());
      expect(uid).toBeGreaterThan(0);
      const got = await report();
      expect(got.uid).toBe(uid);
      expect(got.gid).not.toBe(0);
      expect(uidOf(deployed.pid)).toBe(uid);
      const state = JSON.parse(fs.readFileSync(path.join(home, 'envs/sandbox/state.json'), 'utf8'));
      expect(uidOf(state.dependency.featurePid)).toBe(uid);
      expect(uidOf(state.dependency.proxyPid)).toBe(0); // Toxiproxy is Strata's own, not the candidate's

      const candidateHome = path.join(home, 'envs/sandbox/home');
      expect(got.home).toBe(candidateHome);
      expect(fs.statSync(candidateHome).uid).toBe(uid);
      expect(fs.statSync(candidateHome).mode & 0o777).toBe(0o700);
    });

    it('cannot read the keyring, the cluster key and token, the credentials or the worker environment', async () => {
      const got = await report();
      // The secrets are there, and readable by the worker's user...
      for (const file of [...secrets, path.join(home, 'envs/sandbox/credentials.json')]) {
        expect(fs.readFileSync(file, 'utf8').length, file).toBeGreaterThan(0);
      }
      // ...but not by the candidate: permission denied, file by file.
      for (const file of [...secrets, path.join(home, 'envs/sandbox/credentials.json')]) {
        expect(
          got.attempts.find((a) => a.path === file),
          file,
        ).toEqual({ path: file, read: false, code: 'EACCES' });
      }
      // Its parent is the worker, whose environment holds the secrets; the candidate cannot read it.
      expect(got.ppid).toBe(worker!.pid);
      const workerEnv = processEnviron(worker!.pid!)!;
      expect(workerEnv.get('STRATA_KEYRING')).toBe(secrets[0]);
      expect(workerEnv.get('STRATA_TEMPORAL_TOKEN')).toBe('canary-temporal-token');
      expect(workerEnv.has('TEMPORAL_ADDRESS')).toBe(true);
      expect(got.parentEnvirons[0]).toEqual({ path: `/proc/${worker!.pid}/environ`, read: false, code: 'EACCES' });
      expect(got.parentEnvirons.filter((a) => a.read)).toEqual([]);
      // No process whose environment it can read carries a Strata or Temporal secret.
      expect(got.leaks).toEqual([]);
      // The rest of STRATA_HOME is closed to it, though the folder is traversable.
      expect(got.attempts.find((a) => a.path === path.join(home, 'temporal.db'))).toEqual({
        path: path.join(home, 'temporal.db'),
        read: false,
        code: 'EACCES',
      });
      // What is no secret stays readable: its environment's state.
      expect(got.attempts.find((a) => a.path.endsWith('state.json'))?.read).toBe(true);
    });

    it('gets only the allow-listed variables: no STRATA_* secret, no TEMPORAL_*', async () => {
      const got = await report();
      expect(got.env.filter((name) => !HANDED.includes(name))).toEqual([]);
      expect(got.env.filter((name) => name.startsWith('TEMPORAL_'))).toEqual([]);
      for (const name of ['STRATA_KEYRING', 'STRATA_TEMPORAL_TOKEN', 'STRATA_TEMPORAL_TOKEN_FILE', 'STRATA_HOME'])
        expect(got.env).not.toContain(name);
      expect(got.env).toEqual(
        expect.arrayContaining(['PORT', 'FEATURES_URL', 'STRATA_DB_PATH', 'STRATA_PROCESS_TOKEN']),
      );
      // The feature service too.
      const state = JSON.parse(fs.readFileSync(path.join(home, 'envs/sandbox/state.json'), 'utf8'));
      const featureEnv = [...processEnviron(state.dependency.featurePid)!.keys()];
      expect(featureEnv.filter((name) => !HANDED.includes(name) && !name.startsWith('FEATURE_'))).toEqual([]);
    });

    it('still knows, kills, restarts and replaces the candidate by its verified identity', async () => {
      worker!.stdin!.end(); // the worker goes; a new one (this process) takes the environment over
      expect(await waitForExit(worker!.pid!, 5_000)).toBe(true);
      const provider = new LocalProvider(home);
      expect((await provider.health('sandbox')).healthy).toBe(true);

      const killed = await provider.killCandidate('sandbox');
      expect(killed?.pid).toBe(deployed.pid);
      expect(await waitForExit(deployed.pid, 5_000)).toBe(true);
      const restarted = await provider.restart('sandbox');
      expect(restarted.pid).not.toBe(deployed.pid);
      expect(uidOf(restarted.pid!)).toBeGreaterThan(0);
      expect((await provider.health('sandbox')).healthy).toBe(true);

      const v1 = await loadCandidate(path.join(ROOT, 'examples/candidates/fraud-v1'));
      await storeCandidate(v1, strataPaths(home).artifacts);
      const { env } = await provider.deploy('sandbox', v1);
      expect(await waitForExit(restarted.pid!, 5_000)).toBe(true);
      expect(uidOf(env.pid!)).toBeGreaterThan(0);
      expect((await provider.health('sandbox')).healthy).toBe(true);

      await provider.teardown('sandbox');
      expect(await waitForExit(env.pid!, 5_000)).toBe(true);
    });
  },
);

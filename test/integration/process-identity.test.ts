import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCandidate } from '../../src/config/candidate';
import type { CandidateRef } from '../../src/domain/ladder';
import { storeCandidate } from '../../src/artifacts/store';
import { LocalProvider } from '../../src/providers/local';
import { findOrphanedProcesses, reapOrphanedProcesses } from '../../src/providers/orphans';
import { findProcesses, processAlive, PROCESS_ROLE_ENV, waitForExit } from '../../src/tools/processes';
import { artifactsOf, ROOT, teardownHome, tempHome } from '../helpers/harness';

// A recorded pid is not trusted: the local provider signals only a process it verifies as its own
// (pid, start time from /proc/<pid>/stat, and the environment's token in /proc/<pid>/environ).
// A foreign pid written into state.json (a reboot or pid reuse) survives deploy and teardown, and
// the environment finds its real candidate or starts a new one.

let home: string;
let provider: LocalProvider;
let v1: CandidateRef;
let v2: CandidateRef;
const foreign: ChildProcess[] = [];

function startForeign(): ChildProcess {
  // Detached, so it leads its own group as a candidate would: the old code signalled -pid.
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  child.unref();
  foreign.push(child);
  return child;
}

function writePid(layer: string, pid: number): void {
  const file = path.join(home, 'envs', layer, 'state.json');
  const state = JSON.parse(fs.readFileSync(file, 'utf8'));
  state.pid = pid;
  fs.writeFileSync(file, JSON.stringify(state, null, 2));
}

const candidatesOf = (layer: string) =>
  findProcesses(
    (env) => env.get(PROCESS_ROLE_ENV) === 'candidate' && env.get('STRATA_ENV_DIR') === path.join(home, 'envs', layer),
  );
/** Every process started for the environment, by its directory: candidate, feature service, proxy. */
const processesOf = (layer: string) =>
  findProcesses((env) => env.has(PROCESS_ROLE_ENV) && env.get('STRATA_ENV_DIR') === path.join(home, 'envs', layer));
const rolesOf = (layer: string) =>
  processesOf(layer)
    .map((p) => p.role)
    .sort();

beforeAll(async () => {
  home = tempHome('pid');
  provider = new LocalProvider(home);
  v1 = await loadCandidate(path.join(ROOT, 'examples/candidates/fraud-v1'));
  v2 = await loadCandidate(path.join(ROOT, 'examples/candidates/fraud-v2'));
  // Promote seals candidates in the store; the provider deploys from there.
  for (const candidate of [v1, v2]) await storeCandidate(candidate, artifactsOf(home));
});

afterAll(async () => {
  for (const f of foreign) if (f.pid && processAlive(f.pid)) process.kill(f.pid, 'SIGKILL');
  if (home) await teardownHome(home);
});

describe('processes known by more than a pid', () => {
  it('finds the real candidate after its pid in state.json was replaced, and never signals the foreign process', async () => {
    await provider.provision('sandbox', { promotionId: 'p1' });
    await provider.populate('sandbox', { rows: 200, seed: 1 });
    const { env } = await provider.deploy('sandbox', v1);
    const real = env.pid!;
    const sleeper = startForeign();
    writePid('sandbox', sleeper.pid!);

    // Same release: the real candidate is found by its token and kept.
    const again = await provider.deploy('sandbox', v1);
    expect(again.changed).toBe(false);
    expect(again.env.pid).toBe(real);
    expect(processAlive(sleeper.pid!)).toBe(true);
    expect(provider.events('sandbox').some((e) => e.event === 'process-found' && e.pid === real)).toBe(true);

    // A new release after the pid was replaced again: the real candidate is stopped, the sleeper is not.
    writePid('sandbox', sleeper.pid!);
    const next = await provider.deploy('sandbox', v2);
    expect(next.changed).toBe(true);
    expect(processAlive(sleeper.pid!)).toBe(true);
    expect(await waitForExit(real, 2000)).toBe(true); // gone (a zombie is reaped shortly)
    expect((await provider.health('sandbox')).healthy).toBe(true);
    expect(candidatesOf('sandbox').map((p) => p.pid)).toEqual([next.env.pid]);

    // Teardown with a foreign pid recorded: the sleeper survives, no candidate remains.
    writePid('sandbox', sleeper.pid!);
    await provider.teardown('sandbox');
    expect(processAlive(sleeper.pid!)).toBe(true);
    expect(candidatesOf('sandbox')).toEqual([]);
  }, 120_000);

  it('starts a new candidate when the recorded one is gone and the pid now belongs to someone else (a reboot)', async () => {
    await provider.provision('integration', { promotionId: 'p2' });
    await provider.populate('integration', { rows: 200, seed: 2 });
    const { env } = await provider.deploy('integration', v1);
    // The "reboot": the candidate is gone and its pid is now a stranger's.
    process.kill(-env.pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const sleeper = startForeign();
    writePid('integration', sleeper.pid!);

    const after = await provider.deploy('integration', v1);
    expect(after.changed).toBe(true);
    expect(after.env.pid).not.toBe(sleeper.pid);
    expect(processAlive(sleeper.pid!)).toBe(true);
    expect((await provider.health('integration')).healthy).toBe(true);
    expect(provider.events('integration').some((e) => e.event === 'process-unverified')).toBe(true);
    await provider.teardown('integration');
    expect(processAlive(sleeper.pid!)).toBe(true);
    expect(candidatesOf('integration')).toEqual([]);
  }, 120_000);

  it('restarts a killed candidate on the same address, as a supervisor would (the kill-candidate chaos fault)', async () => {
    await provider.provision('fidelity', { promotionId: 'p6' });
    await provider.populate('fidelity', { rows: 200, seed: 6 });
    const { env } = await provider.deploy('fidelity', v1);
    const killed = await provider.killCandidate('fidelity');
    expect(killed?.pid).toBe(env.pid);
    const restarted = await provider.restart('fidelity');
    // Same address, unless another process on this busy machine took it first (the next test).
    if (!provider.events('fidelity').some((e) => e.event === 'port-taken')) expect(restarted.url).toBe(env.url);
    expect(restarted.pid).not.toBe(env.pid);
    expect((await provider.health('fidelity')).healthy).toBe(true);
    await provider.teardown('fidelity');
  }, 120_000);

  it('restarts on a fresh port when another process takes the address between the check and the listen', async () => {
    await provider.provision('thief', { promotionId: 'p7' });
    await provider.populate('thief', { rows: 100, seed: 7 });
    const loser = await loadCandidate(path.join(ROOT, 'test/fixtures/candidates/port-thief'));
    await storeCandidate(loser, artifactsOf(home));
    const { env } = await provider.deploy('thief', loser);
    await provider.killCandidate('thief');
    // The next start of the candidate has another process take its address, then exits with code 1.
    const candidateHome = path.join(home, 'envs', 'thief', 'home');
    fs.writeFileSync(path.join(candidateHome, 'steal-port'), '');
    const restarted = await provider.restart('thief');
    const oldPort = Number(new URL(env.url!).port);
    expect(Number(new URL(restarted.url!).port)).not.toBe(oldPort);
    expect((await provider.health('thief')).healthy).toBe(true);
    const events = provider.events('thief');
    expect(events.some((e) => e.event === 'process-exited')).toBe(true);
    expect(events.find((e) => e.event === 'port-taken')).toMatchObject({ port: oldPort });
    // The process holding the old address is a stranger: never signalled, still there.
    const thief = Number(fs.readFileSync(path.join(candidateHome, 'thief.pid'), 'utf8'));
    expect(processAlive(thief)).toBe(true);
    await provider.teardown('thief');
    expect(processAlive(thief)).toBe(true);
    process.kill(thief, 'SIGKILL');
  }, 120_000);

  it('tears down an environment whose state.json was deleted: its candidate is found by its directory, nothing remains', async () => {
    await provider.provision('mirror', { promotionId: 'p3' });
    await provider.populate('mirror', { rows: 200, seed: 3 });
    const { env } = await provider.deploy('mirror', v1);
    // The candidate, its feature-lookup service and the proxy in front of it all carry the directory.
    expect(rolesOf('mirror')).toEqual(['candidate', 'feature-service', 'proxy']);
    fs.rmSync(path.join(home, 'envs', 'mirror', 'state.json'));
    // Promote into it now: a clear error naming the way back, not ENOTEMPTY.
    await expect(provider.provision('mirror', { promotionId: 'p4' })).rejects.toThrow(/strata env repair mirror/);
    await provider.teardown('mirror');
    expect(await waitForExit(env.pid!, 2000)).toBe(true); // gone (a zombie is reaped shortly)
    expect(candidatesOf('mirror')).toEqual([]);
    expect(processesOf('mirror')).toEqual([]); // the feature service and proxy too, not only the candidate
    expect(fs.existsSync(path.join(home, 'envs', 'mirror'))).toBe(false);
  }, 120_000);

  it('restarts a feature service whose recorded pid now belongs to someone else, and never signals that process', async () => {
    await provider.provision('features', { promotionId: 'p5' });
    await provider.populate('features', { rows: 200, seed: 5 });
    await provider.deploy('features', v1);
    const file = path.join(home, 'envs', 'features', 'state.json');
    const state = JSON.parse(fs.readFileSync(file, 'utf8'));
    const realFeatures = state.dependency.featurePid as number;
    expect(typeof state.dependency.featureStartTime).toBe('number');
    // The real service dies and its pid is reused: a foreign process now holds the recorded pid.
    process.kill(realFeatures, 'SIGKILL');
    expect(await waitForExit(realFeatures, 5000)).toBe(true);
    const sleeper = startForeign();
    state.dependency.featurePid = sleeper.pid;
    fs.writeFileSync(file, JSON.stringify(state, null, 2));

    // The fault-injection step would kill "the feature service": the foreign pid is not it.
    expect(await provider.killDependency('features')).toBeNull();
    const { started } = await provider.ensureDependency('features');
    expect(started).toEqual(['feature-service']);
    expect(processAlive(sleeper.pid!)).toBe(true);
    await provider.teardown('features');
    expect(processAlive(sleeper.pid!)).toBe(true);
    expect(processesOf('features')).toEqual([]);
  }, 120_000);

  it('stops a candidate that state.json does not name (an attempt killed before recording it) before starting another', async () => {
    await provider.provision('unrecorded', { promotionId: 'p8' });
    await provider.populate('unrecorded', { rows: 200, seed: 8 });
    await provider.deploy('unrecorded', v1);
    const file = path.join(home, 'envs', 'unrecorded', 'state.json');
    const state = JSON.parse(fs.readFileSync(file, 'utf8'));
    // An interrupted attempt: a candidate process of this environment runs, and the state records none.
    const stray = spawn('sleep', ['300'], {
      detached: true,
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH,
        STRATA_PROCESS_TOKEN: state.token,
        STRATA_PROCESS_ROLE: 'candidate',
        STRATA_ENV_DIR: path.join(home, 'envs', 'unrecorded'),
      },
    });
    stray.unref();
    foreign.push(stray);
    const recorded = state.pid as number;
    process.kill(-recorded, 'SIGKILL');
    expect(await waitForExit(recorded, 5000)).toBe(true);
    Object.assign(state, { pid: null, pidStartTime: null, port: null, runningRelease: null });
    fs.writeFileSync(file, JSON.stringify(state, null, 2));
    expect(candidatesOf('unrecorded').map((p) => p.pid)).toEqual([stray.pid]);

    const { env } = await provider.deploy('unrecorded', v2);
    expect(await waitForExit(stray.pid!, 5000)).toBe(true);
    expect(candidatesOf('unrecorded').map((p) => p.pid)).toEqual([env.pid]);
    await provider.teardown('unrecorded');
  }, 120_000);

  it('stops the processes of an environment whose directory was removed without a teardown (the worker does at start)', async () => {
    await provider.provision('removed', { promotionId: 'p6' });
    await provider.populate('removed', { rows: 200, seed: 6 });
    await provider.deploy('removed', v1);
    await provider.provision('kept', { promotionId: 'p7' });
    await provider.populate('kept', { rows: 200, seed: 7 });
    const other = await provider.ensureDependency('kept');
    expect(other.started.sort()).toEqual(['feature-service', 'toxiproxy']);
    expect(rolesOf('removed')).toEqual(['candidate', 'feature-service', 'proxy']);
    fs.rmSync(path.join(home, 'envs', 'removed'), { recursive: true, force: true });

    const found = findOrphanedProcesses({ under: home });
    expect(found.map((p) => p.role).sort()).toEqual(['candidate', 'feature-service', 'proxy']);
    expect(new Set(found.map((p) => p.dir))).toEqual(new Set([path.join(home, 'envs', 'removed')]));
    // Outside the folder given, nothing is touched.
    expect(findOrphanedProcesses({ under: path.join(home, 'elsewhere') })).toEqual([]);

    const reaped = await reapOrphanedProcesses({ under: home });
    expect(reaped).toHaveLength(3);
    expect(processesOf('removed')).toEqual([]);
    // The environment that still exists keeps its processes.
    expect(rolesOf('kept')).toEqual(['feature-service', 'proxy']);
    await provider.teardown('kept');
    expect(processesOf('kept')).toEqual([]);
  }, 120_000);

  it('repairs an environment whose state.json was truncated: stops its own candidate, rebuilds the state, reseeds', async () => {
    await provider.provision('traffic', { promotionId: 'p5' });
    await provider.populate('traffic', { rows: 200, seed: 4 });
    const { env } = await provider.deploy('traffic', v1);
    await provider.markPromoted('traffic', v1.digest);
    const sleeper = startForeign();
    fs.writeFileSync(path.join(home, 'envs', 'traffic', 'state.json'), '{"layer": "traff');
    await expect(provider.describe('traffic')).rejects.toThrow(/strata env repair traffic/);

    const repaired = await provider.repair('traffic');
    expect(repaired.stopped).toEqual([env.pid]);
    expect(repaired.knownGood).toBe(v1.version);
    expect(await waitForExit(env.pid!, 2000)).toBe(true); // gone (a zombie is reaped shortly)
    expect(processAlive(sleeper.pid!)).toBe(true);
    const info = await provider.describe('traffic');
    expect(info).toMatchObject({ layer: 'traffic', pid: null, running: null });
    expect(info!.knownGood?.digest).toBe(v1.digest);
    expect(fs.existsSync(info!.dbPath)).toBe(false);
    // And it is usable again: populated afresh and deployed.
    expect((await provider.populate('traffic', { rows: 200, seed: 4 })).created).toBe(true);
    expect((await provider.deploy('traffic', v1)).changed).toBe(true);
    expect((await provider.health('traffic')).healthy).toBe(true);
    await provider.teardown('traffic');
    expect(candidatesOf('traffic')).toEqual([]);
  }, 120_000);

  it('reports a candidate that exits at once with its exit code; its output stays in its log, out of the message', async () => {
    await provider.provision('exits', { promotionId: 'p6' });
    await provider.populate('exits', { rows: 100, seed: 6 });
    const broken = await loadCandidate(path.join(ROOT, 'test/fixtures/candidates/exits'));
    await storeCandidate(broken, artifactsOf(home));
    const started = Date.now();
    const err = (await provider.deploy('exits', broken).catch((e: unknown) => e)) as Error;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err.message).toMatch(/exited with code 3 before becoming healthy/);
    // The message reaches the workflow history; a candidate's output may print a data row.
    const logFile = /its output is in (\S+) on the worker's machine/.exec(err.message)?.[1];
    expect(logFile).toBeDefined();
    expect(err.message).not.toContain('fatal: model file is corrupt');
    expect(err.message).not.toContain('starting, step');
    const log = fs.readFileSync(logFile!, 'utf8');
    expect(log).toContain('fatal: model file is corrupt');
    expect(log).toContain('starting, step 30');
    expect((await provider.describe('exits'))?.pid).toBeNull();
    await provider.teardown('exits');
  }, 60_000);
});

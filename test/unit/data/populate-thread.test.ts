import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseLadder } from '../../../src/config/ladder';
import { ApprovalRegistry } from '../../../src/data/approvals';
import {
  commitPopulation,
  populateFromSource,
  PopulationRefused,
  readPopulationReport,
} from '../../../src/data/populate';
import { acquirePopulateLock, populateLockPath, PopulationBusy } from '../../../src/data/populate-lock';
import { PopulationCancelled, runPopulationInThread } from '../../../src/data/populate-runner';
import type { LayerSpec } from '../../../src/domain/ladder';
import { processStartTime } from '../../../src/tools/processes';

// The populate step in a worker thread: the event loop stays free while it runs, an abort stops it
// at once and leaves nothing behind, and one attempt at a time holds a database's lock.
const EXAMPLES = path.resolve(__dirname, '../../../examples');
let home: string;
let dbPath: string;

function layer(rows: number): LayerSpec {
  const text = `name: t
data:
  sources:
    - { name: profile, classification: synthetic, file: ${EXAMPLES}/data/transactions.profile.json }
layers:
  - name: mirror
    approval: auto
    data: { source: profile, rows: ${rows}, seed: 7, policy: ${EXAMPLES}/data/masking/synthetic.yaml }
    gates: []
`;
  return parseLadder(text, path.join(home, 'ladder.yaml')).layers[0];
}

beforeEach(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-thread-'));
  dbPath = path.join(home, 'envs', 'mirror', 'data.db');
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  await new ApprovalRegistry(home).approve(path.join(EXAMPLES, 'data/transactions.profile.json'), 'carol', 'test');
});

describe('runPopulationInThread', () => {
  it('generates in a thread, reporting rows, while the event loop keeps ticking; the swap happens on commit', async () => {
    const staging = `${dbPath}.attempt-1.seeding.db`;
    let rows = 0;
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 50);
    const started = Date.now();
    const prepared = await runPopulationInThread(
      { home, layer: layer(30_000), dbPath, staging },
      { progress: (p) => (rows = p.rows ?? rows) },
    );
    clearInterval(ticker);
    const elapsed = Date.now() - started;
    expect(prepared.staging).toBe(staging);
    expect(fs.existsSync(staging)).toBe(true);
    expect(fs.existsSync(dbPath)).toBe(false);
    expect(rows).toBeGreaterThan(0);
    // The loop was free: ticks kept coming (at least half of those a free loop would give).
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 50 / 2));
    const report = commitPopulation(prepared, dbPath);
    expect(report).toMatchObject({ created: true, rows: 30_000 });
    expect(readPopulationReport(dbPath)?.fingerprint).toBe(report.fingerprint);
    expect(fs.existsSync(staging)).toBe(false);
  }, 60_000);

  it('stops within 2 s of an abort and removes its staging file', async () => {
    const staging = `${dbPath}.attempt-2.seeding.db`;
    const abort = new AbortController();
    let rows = 0;
    const running = runPopulationInThread(
      { home, layer: layer(5_000_000), dbPath, staging },
      { signal: abort.signal, progress: (p) => (rows = p.rows ?? rows) },
    );
    const deadline = Date.now() + 30_000;
    while (rows === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(rows).toBeGreaterThan(0);
    const aborted = Date.now();
    abort.abort();
    await expect(running).rejects.toBeInstanceOf(PopulationCancelled);
    expect(Date.now() - aborted).toBeLessThan(2000);
    expect(fs.existsSync(staging)).toBe(false);
    expect(fs.existsSync(dbPath)).toBe(false);
  }, 60_000);

  it('brings a refusal back as the PopulationRefused it was', async () => {
    const spec = layer(1000);
    spec.data!.fidelityThreshold = 1.01;
    const staging = `${dbPath}.attempt-3.seeding.db`;
    const err = await runPopulationInThread({ home, layer: spec, dbPath, staging }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PopulationRefused);
    expect((err as PopulationRefused).kind).toBe('FidelityBelowThreshold');
    expect(fs.existsSync(staging)).toBe(false);
  }, 60_000);
});

describe('the populate lock', () => {
  it('lets one attempt at a time in, and takes over a lock whose holder died', async () => {
    const first = acquirePopulateLock(dbPath, 'wf/1#1');
    expect(() => acquirePopulateLock(dbPath, 'wf/1#2')).toThrow(PopulationBusy);
    first.release();
    expect(fs.existsSync(populateLockPath(dbPath))).toBe(false);
    acquirePopulateLock(dbPath, 'wf/1#3').release();

    // A lock left by a process that has exited is stale.
    const child = spawn('true');
    const pid = child.pid!;
    await new Promise((r) => child.once('exit', r));
    fs.writeFileSync(populateLockPath(dbPath), JSON.stringify({ pid, startTime: 1, attempt: 'gone', at: '' }));
    acquirePopulateLock(dbPath, 'wf/1#4').release();

    // A live process with another start time (pid reuse) holds nothing either.
    fs.writeFileSync(
      populateLockPath(dbPath),
      JSON.stringify({ pid: process.ppid, startTime: (processStartTime(process.ppid) ?? 0) + 1, attempt: 'x', at: '' }),
    );
    acquirePopulateLock(dbPath, 'wf/1#5').release();
    // ...while the same live process with its start time does.
    fs.writeFileSync(
      populateLockPath(dbPath),
      JSON.stringify({ pid: process.ppid, startTime: processStartTime(process.ppid), attempt: 'y', at: '' }),
    );
    expect(() => acquirePopulateLock(dbPath, 'wf/1#6')).toThrow(PopulationBusy);
  });
});

describe('skipping a population already done', () => {
  it('trusts the database only while its size and checksum match the sidecar: a damaged one is populated again', async () => {
    const spec = layer(2000);
    const first = await populateFromSource({ home, layer: spec, dbPath });
    expect(first.created).toBe(true);
    expect(first.database?.bytes).toBe(fs.statSync(dbPath).size);
    expect((await populateFromSource({ home, layer: spec, dbPath })).created).toBe(false);
    fs.writeFileSync(dbPath, 'garbage');
    const again = await populateFromSource({ home, layer: spec, dbPath });
    expect(again.created).toBe(true);
    expect(again.database).toEqual(first.database);
  }, 60_000);
});

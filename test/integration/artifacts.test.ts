// Immutable, verified artifacts (real dev server, real worker, real candidate processes, the real
// CLI as a child process): promote seals the candidate in $STRATA_HOME/artifacts/sha256/<digest>,
// deploys run from there and re-verify it, and one changed byte is refused, audited as
// artifact.tampered with the expected and found digests, and rolled back.

import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactTamperedError, artifactEntryDir, digestDirectory } from '../../src/artifacts/store';
import { auditTrail } from '../../src/audit/trail';
import { loadCandidate } from '../../src/config/candidate';
import { parseLadder } from '../../src/config/ladder';
import type { CandidateRef } from '../../src/domain/ladder';
import { approve, getStatus, startPromotion, waitForResult } from '../../src/temporal/promotions';
import { EXAMPLE_CANDIDATES } from '../helpers/example-candidates';
import { artifactsOf, tempHome, waitForStatus, workerSuite } from '../helpers/harness';
import { runStrata } from '../helpers/cli';

const suite = workerSuite('artifacts');
let client: Client;
let home: string;
let taskQueue: string;

beforeAll(() => {
  ({ client, home, taskQueue } = suite);
});

// staging waits for one approval: the window in which the test changes the store.
const LADDER = `
name: sealed
defaults: { rollback: previous }
layers:
  - name: staging
    seed: { rows: 300, seed: 1 }
    gates: [{ type: schema }]
    approval: { required: 1, approvers: [alice], expiry: 1h }
  - name: production
    seed: { rows: 300, seed: 2 }
    gates: [{ type: schema }]
    approval: auto
`;
const ladder = parseLadder(LADDER, 'sealed.yaml');

/** A copy of the example candidates (fraud-vN reads server.js from ../shared), as a user's working folder. */
function workingCopy(): string {
  const dir = fs.mkdtempSync(path.join(tempHome('artifacts-work'), 'candidates-'));
  fs.cpSync(EXAMPLE_CANDIDATES, dir, { recursive: true });
  return dir;
}

async function promoteThroughApproval(candidate: CandidateRef, id: string, beforeApproval?: () => void) {
  await startPromotion(client, {
    id,
    ladder,
    layers: ladder.layers,
    candidate,
    initiator: 'dana',
    taskQueue,
    artifacts: artifactsOf(home),
  });
  await waitForStatus(client, id, (s) => s.layers[0].phase === 'awaiting-approval', 120_000);
  beforeApproval?.();
  await approve(client, id, { layer: 'staging', actor: 'alice', reason: 'looks right' });
  return waitForResult(client, id);
}

/** Flips one bit of one byte of a file in a read-only store entry (as an intruder with write access would). */
function flipByte(file: string): void {
  fs.chmodSync(file, 0o644);
  const bytes = fs.readFileSync(file);
  bytes[Math.floor(bytes.length / 2)] ^= 1;
  fs.writeFileSync(file, bytes);
  fs.chmodSync(file, 0o444);
}

describe('sealed artifacts', () => {
  it('deploys from the store, and refuses a candidate changed in the store after promote: audited, rolled back', async () => {
    const work = workingCopy();
    const v1 = await loadCandidate(path.join(work, 'fraud-v1'));
    const first = await promoteThroughApproval(v1, `sealed-v1-${process.pid}`);
    expect(first.state).toBe('promoted');

    const v2 = await loadCandidate(path.join(work, 'fraud-v2'));
    const entry = artifactEntryDir(artifactsOf(home), v2.digest);
    const id = `sealed-v2-${process.pid}`;
    let tamperedDigest = '';
    const result = await promoteThroughApproval(v2, id, () => {
      // Deploys never read the working folder: staging ran without it, production would too.
      fs.rmSync(work, { recursive: true, force: true });
      flipByte(path.join(entry, 'model.json'));
    });
    tamperedDigest = await digestDirectory(entry);
    expect(tamperedDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(tamperedDigest).not.toBe(v2.digest);

    // staging ran v2 (deployed before the change); production refused it and fell back to v1.
    expect(result.state).toBe('failed');
    const status = await getStatus(client, id);
    expect(status.layers.map((l) => [l.name, l.phase, l.running])).toEqual([
      ['staging', 'promoted', '2.0.0'],
      ['production', 'rolled-back', '1.0.0'],
    ]);
    expect(status.layers[1].failure).toContain(`expected sha256 ${v2.digest}, found sha256 ${tamperedDigest}`);
    const production = await suite.worker.provider.describe('production');
    expect(production?.running).toBe('1.0.0');
    expect((await suite.worker.provider.health('production')).healthy).toBe(true);

    // The audit trail says what was refused, with both digests.
    const audit = await auditTrail(client, id);
    const tampered = audit.filter((e) => e.action === 'artifact.tampered');
    expect(tampered).toHaveLength(1);
    expect(tampered[0].layer).toBe('production');
    expect(tampered[0].detail).toBe(
      `deployCandidate refused: expected sha256 ${v2.digest}, found sha256 ${tamperedDigest} (${entry})`,
    );
    const after = audit.slice(audit.indexOf(tampered[0]));
    expect(after.map((e) => e.action)).toEqual(expect.arrayContaining(['layer.rolled-back', 'layer.failed']));
    expect(audit.some((e) => e.action === 'layer.deployed' && e.layer === 'production')).toBe(false);

    // So does the provider's event log.
    const events = suite.worker.provider.events('production').filter((e) => e.event === 'artifact-tampered');
    expect(events).toEqual([expect.objectContaining({ where: entry, expected: v2.digest, found: tamperedDigest })]);
  }, 300_000);

  it('re-verifies an installed release before a restart or a rollback, and stops nothing when it refuses', async () => {
    const provider = suite.worker.provider;
    const refused = async (work: Promise<unknown>, release: { dir: string; digest: string }) => {
      const error = await work.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ArtifactTamperedError);
      expect((error as ArtifactTamperedError).where).toBe(release.dir);
      expect((error as ArtifactTamperedError).expected).toBe(release.digest);
    };

    // production runs v1: a restart (the drills' and the chaos gate's runbook step) checks it first.
    const production = (await provider.describe('production'))!;
    const v1 = production.runningRelease!;
    const model = path.join(v1.dir, 'model.json');
    const original = fs.readFileSync(model);
    flipByte(model);
    await refused(provider.restart('production'), v1);
    expect((await provider.describe('production'))!.pid).toBe(production.pid);
    expect((await provider.health('production')).healthy).toBe(true);

    // staging runs v2; a rollback to its tampered v1 release is refused before v2 is stopped.
    const staging = (await provider.describe('staging'))!;
    expect(staging.running).toBe('2.0.0');
    const stagingV1 = (await provider.releases('staging')).find((r) => r.version === '1.0.0')!;
    flipByte(path.join(stagingV1.dir, 'server.js'));
    await refused(provider.rollback('staging', stagingV1), stagingV1);
    expect((await provider.describe('staging'))!.pid).toBe(staging.pid);
    expect((await provider.health('staging')).healthy).toBe(true);
    expect(provider.events('staging').filter((e) => e.event === 'artifact-tampered')).toEqual([
      expect.objectContaining({ where: stagingV1.dir, expected: stagingV1.digest }),
    ]);

    // Put back byte for byte, the same release passes again.
    fs.chmodSync(model, 0o644);
    fs.writeFileSync(model, original);
    expect((await provider.restart('production')).running).toBe('1.0.0');
  }, 120_000);
});

const strata = (args: string[]) => runStrata(args, { home, taskQueue });

describe('strata promote and the store', () => {
  it('exits 2 naming a missing artifact file, and stores nothing', async () => {
    const ladderFile = path.join(home, 'sealed.yaml');
    fs.writeFileSync(ladderFile, LADDER);
    const before = fs.existsSync(path.join(artifactsOf(home), 'sha256'))
      ? fs.readdirSync(path.join(artifactsOf(home), 'sha256'))
      : [];
    const r = await strata([
      'promote',
      '--ladder',
      ladderFile,
      '--candidate',
      'test/fixtures/candidates/missing-artifact',
    ]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('test/fixtures/candidates/missing-artifact/candidate.yaml');
    expect(r.stderr).toContain('"model.json" does not exist');
    expect(r.stdout).toBe('');
    const after = fs.existsSync(path.join(artifactsOf(home), 'sha256'))
      ? fs.readdirSync(path.join(artifactsOf(home), 'sha256'))
      : [];
    expect(after).toEqual(before);
  }, 60_000);

  it('seals the candidate read-only at promote, and a second promote reuses the entry as it is', async () => {
    const ladderFile = path.join(home, 'cli-only.yaml');
    // A layer of its own, and a gate that cannot pass: the promotions end without touching the others.
    fs.writeFileSync(
      ladderFile,
      `
name: cli-only
layers:
  - name: cli-only
    seed: { rows: 100, seed: 3 }
    gates: [{ type: quality, threshold: 0.99 }]
    approval: auto
`,
    );
    const v3 = await loadCandidate(path.join(EXAMPLE_CANDIDATES, 'fraud-v3'));
    const entry = artifactEntryDir(artifactsOf(home), v3.digest);
    const args = ['promote', '--ladder', ladderFile, '--candidate', 'examples/candidates/fraud-v3', '--as', 'dana'];
    const first = await strata([...args, '--id', `cli-sealed-a-${process.pid}`, '--wait']);
    expect(first.code, first.stderr).toBe(1); // the gate fails; the candidate was sealed all the same
    expect(fs.readdirSync(entry).sort()).toEqual(['candidate.yaml', 'model.json', 'server.js']);
    expect(fs.statSync(entry).mode & 0o777).toBe(0o555);
    for (const f of fs.readdirSync(entry)) expect(fs.statSync(path.join(entry, f)).mode & 0o777, f).toBe(0o444);
    expect(await digestDirectory(entry)).toBe(v3.digest);
    const inode = fs.statSync(path.join(entry, 'model.json')).ino;

    const second = await strata([...args, '--id', `cli-sealed-b-${process.pid}`, '--wait']);
    expect(second.code, second.stderr).toBe(1);
    expect(fs.statSync(path.join(entry, 'model.json')).ino).toBe(inode);
    expect(fs.readdirSync(path.dirname(entry)).filter((d) => d.startsWith('.'))).toEqual([]);
  }, 240_000);
});

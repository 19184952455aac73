// Approvals bound to the evidence the approver was shown: the real CLI computes and sends the
// digest, the layer workflow on the run's dev server refuses a stale one naming what changed,
// refuses a digest-less one that came through the API, takes (and labels) a digest-less local one,
// and the audit trail carries the digest.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/trail';
import { evidenceDigest, layerEvidence } from '../../src/domain/evidence';
import { layerWorkflowId } from '../../src/domain/promotion';
import { approveUpdate } from '../../workflows/messages';
import { type CliResult, runStrata } from '../helpers/cli';
import { waitForStatus, workerSuite } from '../helpers/harness';
import { testLadderYaml } from '../helpers/ladders';

const suite = workerSuite('evidence');
const strata = (args: string[]) => runStrata(args, suite);
const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('evidence-bound approvals', () => {
  it('stale evidence is refused naming what changed; the digest shown is the one recorded and audited', async () => {
    const ladder = path.join(suite.home, 'ladder.yaml');
    fs.writeFileSync(ladder, testLadderYaml({ name: 'evidence-ladder' }));
    const id = `evidence-${path.basename(suite.home).slice(-6)}`;
    const started = await strata([
      'promote',
      '--ladder',
      ladder,
      '--candidate',
      'examples/candidates/fraud-v2',
      '--from',
      'mirror',
      '--to',
      'mirror',
      '--as',
      'dana',
      '--id',
      id,
    ]);
    expect(started.code, show(started)).toBe(0);
    const waiting = await waitForStatus(suite.client, id, (s) => s.layers[0]?.phase === 'awaiting-approval', 120_000);
    const evidence = layerEvidence(waiting, 'mirror')!;
    expect(evidence.ladderDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(evidence.gates.length).toBeGreaterThan(0);
    const now = evidenceDigest(evidence);
    const layer = suite.client.workflow.getHandle(layerWorkflowId(id, 'mirror'));
    const update = (req: Record<string, unknown>) =>
      layer.executeUpdate(approveUpdate, { args: [{ layer: 'mirror', reason: 'r', ...req } as never] }).then(
        (reply) => ({ ok: true as const, reply }),
        (err: Error) => ({
          ok: false as const,
          message: String((err.cause as Error | undefined)?.message ?? err.message),
        }),
      );

    // A digest from a re-run of the gates (one gate measured differently): stale, the gates named.
    const regated = evidenceDigest({
      ...evidence,
      gates: evidence.gates.map((g, i) => (i === 0 ? { ...g, value: (g.value ?? 0) + 0.01 } : g)),
    });
    const staleGates = await update({ actor: 'carol', evidence: regated });
    expect(staleGates).toMatchObject({ ok: false });
    expect(!staleGates.ok && staleGates.message).toMatch(
      /^approval\.refused: stale evidence: the gate results changed/,
    );
    // Another ladder version: the ladder named.
    const reladdered = evidenceDigest({ ...evidence, ladderDigest: 'f'.repeat(64) });
    const staleLadder = await update({ actor: 'carol', evidence: reladdered });
    expect(!staleLadder.ok && staleLadder.message).toContain('stale evidence: the ladder version changed');
    // Through the API (auth set) without a digest: refused.
    const apiNoDigest = await update({ actor: 'carol', auth: 'token old-client' });
    expect(!apiNoDigest.ok && apiNoDigest.message).toContain('approval.refused: no evidence digest');
    // The CLI with a digest shown elsewhere that is not the layer's any more.
    const cliStale = await strata([
      'approve',
      id,
      '--layer',
      'mirror',
      '--as',
      'carol',
      '--reason',
      'seen',
      '--evidence',
      'e'.repeat(64),
    ]);
    expect(cliStale.code, show(cliStale)).toBe(1);
    expect(cliStale.stderr).toContain('approval.refused: stale evidence');

    // Local mode without a digest (an older client): taken, recorded as none.
    const bob = await update({ actor: 'bob' });
    expect(bob).toMatchObject({ ok: true, reply: { count: 1, required: 2 } });
    // The CLI computes the digest from the status, prints it, sends it: quorum.
    const alice = await strata([
      'approve',
      id,
      '--layer',
      'mirror',
      '--as',
      'alice',
      '--reason',
      'gates and data fine',
    ]);
    expect(alice.code, show(alice)).toBe(0);
    expect(alice.stderr).toContain(`on evidence sha256 ${now.digest}`);
    const done = await waitForStatus(
      suite.client,
      id,
      (s) => ['promoted', 'failed', 'aborted'].includes(s.state),
      120_000,
    );
    expect(done.state).toBe('promoted');
    expect(done.layers[0].approvals.map((a) => [a.actor, a.evidence])).toEqual([
      ['bob', undefined], // an older local client: taken, labelled in the audit
      ['alice', now.digest],
    ]);

    const audit = await strata(['audit', id, '--json']);
    expect(audit.code, show(audit)).toBe(0);
    const entries = JSON.parse(audit.stdout) as AuditEntry[];
    const granted = entries.filter((e) => e.action === 'approval.granted');
    expect(granted.map((e) => e.detail)).toEqual([
      expect.stringContaining('[no evidence digest]'),
      expect.stringContaining(`[evidence sha256 ${now.digest}]`),
    ]);
    const refused = entries.filter((e) => e.action === 'approval.refused').map((e) => e.detail);
    expect(refused).toEqual(
      expect.arrayContaining([
        expect.stringContaining('stale evidence: the gate results changed'),
        expect.stringContaining(`[evidence sha256 ${regated.digest}]`),
      ]),
    );
  });
});

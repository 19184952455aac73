import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditTrail } from '../../src/audit/trail';
import { ladderDigest } from '../../src/config/ladder-digest';
import { parseLadder } from '../../src/config/ladder';
import { ladderWorkflowId } from '../../src/domain/ladder-version';
import { ladderVersions } from '../../src/temporal/ladders';
import { approve, getStatus, waitForResult } from '../../src/temporal/promotions';
import type { PromotionInput } from '../../src/domain/promotion';
import { waitForStatus, workerSuite } from '../helpers/harness';
import { runStrata } from '../helpers/cli';
import { exampleCandidate } from '../helpers/ladders';

// Ladders live on the server: applied versions, promotion by name, and a raw client that cannot
// hand a promotion its own layers.

const suite = workerSuite('ladders');
let dir: string;

const sandbox = `
  - name: sandbox
    seed: { rows: 500, seed: 1 }
    gates: [{ type: schema }]
    approval: auto`;
const traffic = `
  - name: traffic
    seed: { rows: 500, seed: 3 }
    gates: [{ type: schema }]
    approval: { required: 1, approvers: [alice], expiry: 1h }`;
const V1 = `name: shop-ladder\nlayers:${sandbox}\n`;
const V2 = `name: shop-ladder\nlayers:${sandbox}${traffic}\n`;

const strata = (args: string[]) => runStrata(args, suite);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(suite.home, 'ladders-'));
  fs.writeFileSync(path.join(dir, 'v1.yaml'), V1);
  fs.writeFileSync(path.join(dir, 'v2.yaml'), V2);
  fs.writeFileSync(path.join(dir, 'bad.yaml'), `name: shop-ladder\nlayers:${sandbox}\n    rollback: sideways\n`);
});

describe('ladders stored on the server (real dev server, real CLI)', () => {
  it('applies v1 and v2 with a diff, refuses a bad file with exit 2, lists and shows history', async () => {
    const bad = await strata(['ladder', 'apply', path.join(dir, 'bad.yaml'), '--as', 'alice', '--reason', 'x']);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain('bad.yaml');
    expect(bad.stderr).toContain('layers[0].rollback');

    const v1 = await strata(['ladder', 'apply', path.join(dir, 'v1.yaml'), '--as', 'Alice', '--reason', 'first']);
    expect(v1.code, v1.stderr).toBe(0);
    expect(v1.stdout).toContain('stored ladder shop-ladder version 1');
    expect(v1.stdout).toContain('alice (local, unauthenticated)');
    expect(v1.stdout).toContain('+ layers[sandbox]');

    const again = await strata(['ladder', 'apply', path.join(dir, 'v1.yaml'), '--as', 'bob', '--reason', 'again']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('is current already: nothing stored');

    const noReason = await strata(['ladder', 'apply', path.join(dir, 'v2.yaml'), '--as', 'bob', '--reason', ' ']);
    expect(noReason.code).toBe(2);

    const v2 = await strata(['ladder', 'apply', path.join(dir, 'v2.yaml'), '--as', 'bob', '--reason', 'add traffic']);
    expect(v2.code, v2.stderr).toBe(0);
    expect(v2.stdout).toContain('version 2');
    expect(v2.stdout).toContain('changes since version 1');
    expect(v2.stdout).toContain('+ layers[traffic]');

    const versions = await ladderVersions(suite.client, suite.taskQueue, 'shop-ladder');
    expect(versions.map((v) => [v.version, v.actor, v.authenticated, v.reason])).toEqual([
      [1, 'alice', false, 'first'],
      [2, 'bob', false, 'add traffic'],
    ]);
    expect(versions[1].digest).toBe(ladderDigest(parseLadder(V2, 'v2.yaml')));
    // The current version is in the ladder workflow's memo too: promotions read it there (describe,
    // answered by the server) instead of queueing a query behind a busy worker.
    const { memo } = await suite.client.workflow.getHandle(ladderWorkflowId(suite.taskQueue, 'shop-ladder')).describe();
    expect(memo?.current).toMatchObject({ version: 2, digest: versions[1].digest, actor: 'bob' });

    const history = await strata(['ladder', 'history', 'shop-ladder', '--json']);
    expect(JSON.parse(history.stdout).map((v: { version: number }) => v.version)).toEqual([1, 2]);
    const show = await strata(['ladder', 'show', 'shop-ladder', '--version', '1', '--json']);
    expect(JSON.parse(show.stdout).ladder.layers.map((l: { name: string }) => l.name)).toEqual(['sandbox']);
    const missing = await strata(['ladder', 'show', 'no-such-ladder']);
    expect(missing.code).toBe(1);
    // Visibility lags a little behind the start of the ladder workflow.
    let ls = await strata(['ladder', 'ls', '--json']);
    for (let i = 0; i < 20 && !ls.stdout.includes('shop-ladder'); i++) {
      await new Promise((r) => setTimeout(r, 500));
      ls = await strata(['ladder', 'ls', '--json']);
    }
    expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ name: 'shop-ladder', version: 2 })]);
  });

  it('promotes by name: the version and digest pinned at start are in status and in the audit trail', async () => {
    const candidate = await exampleCandidate('fraud-v2');
    const started = await strata([
      'promote',
      '--ladder',
      'shop-ladder',
      '--candidate',
      candidate.dir,
      '--as',
      'dana',
      '--id',
      `by-name-${process.pid}`,
    ]);
    expect(started.code, started.stderr).toBe(0);
    const id = started.stdout.trim();
    expect(started.stderr).toContain('ladder shop-ladder version 2');
    await waitForStatus(suite.client, id, (s) => s.layers.some((l) => l.phase === 'awaiting-approval'));
    await approve(suite.client, id, { layer: 'traffic', actor: 'alice', reason: 'ok' });
    expect((await waitForResult(suite.client, id)).state).toBe('promoted');

    const [v2] = (await ladderVersions(suite.client, suite.taskQueue, 'shop-ladder')).slice(1);
    const status = await getStatus(suite.client, id);
    expect(status.ladder).toEqual({ name: 'shop-ladder', version: 2, digest: v2.digest });
    const shown = await strata(['status', id]);
    expect(shown.stdout).toContain(`ladder shop-ladder version 2 (sha256 ${v2.digest.slice(0, 12)})`);
    const trail = await auditTrail(suite.client, id);
    const pinned = trail.find((e) => e.action === 'ladder.pinned');
    expect(pinned?.detail).toContain(`ladder shop-ladder version 2 (sha256 ${v2.digest})`);
  });

  it('a raw client cannot hand the promotion its own layers: the stored ladder runs', async () => {
    const candidate = await exampleCandidate('fraud-v2');
    // A hostile copy of the ladder: no gates, automatic approval everywhere, an extra layer.
    const hostile = parseLadder(
      `name: shop-ladder\nlayers:\n  - { name: traffic, seed: { rows: 10, seed: 1 }, gates: [], approval: auto }\n  - { name: prod, seed: { rows: 10, seed: 1 }, gates: [], approval: auto }\n`,
      'hostile.yaml',
    );
    const input: PromotionInput = {
      ladderName: 'shop-ladder',
      layers: hostile.layers,
      ladder: { name: 'shop-ladder' },
      // A forged pin is overwritten by the workflow's own.
      pinned: { name: 'shop-ladder', version: 99, digest: '0'.repeat(64), layers: hostile.layers },
      candidate,
      initiator: 'mallory',
    };
    const id = `raw-${process.pid}`;
    await suite.client.workflow.start('promotion', { workflowId: id, taskQueue: suite.taskQueue, args: [input] });
    const waiting = await waitForStatus(suite.client, id, (s) =>
      s.layers.some((l) => l.name === 'traffic' && l.phase === 'awaiting-approval'),
    );
    expect(waiting.layers.map((l) => l.name)).toEqual(['sandbox', 'traffic']);
    expect(waiting.ladder?.version).toBe(2);
    expect(waiting.layers[1].approval).toEqual({ required: 1, allowed: ['alice'] });
    expect(waiting.layers[0].gates.map((g) => g.name)).toEqual(['schema']);
    await suite.client.workflow.getHandle(id).terminate('test done');

    // And one without a ladder name is refused outright.
    const bare = `raw-bare-${process.pid}`;
    const { ladder: _l, pinned: _p, ...noLadder } = input;
    await suite.client.workflow.start('promotion', { workflowId: bare, taskQueue: suite.taskQueue, args: [noLadder] });
    await expect(suite.client.workflow.getHandle(bare).result()).rejects.toThrow();
    const status = await getStatus(suite.client, bare);
    expect(status.state).toBe('failed');
    expect(status.layers).toEqual([]);
    expect(status.reason).toContain('a promotion names its ladder');
    const started = (await auditTrail(suite.client, bare)).find((e) => e.action === 'promotion.started');
    expect(started?.detail).not.toContain('prod');
  });

  it('local mode: promote --ladder FILE applies the file first and says so', async () => {
    const candidate = await exampleCandidate('fraud-v2');
    fs.writeFileSync(path.join(dir, 'v3.yaml'), V1);
    const res = await strata([
      'promote',
      '--ladder',
      path.join(dir, 'v3.yaml'),
      '--candidate',
      candidate.dir,
      '--as',
      'erin',
      '--wait',
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('local mode: stored ladder shop-ladder version 3');
    expect(res.stderr).toContain('erin (local, unauthenticated)');
    expect(res.stderr).toContain('- layers[traffic]');
    expect(res.stdout).toContain('ladder shop-ladder version 3');
  });
});

import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadLadder } from '../../src/config/ladder';
import { ApprovalRegistry } from '../../src/data/approvals';
import { startPromotion, waitForResult } from '../../src/temporal/promotions';
import type { rollback, RollbackResult } from '../../workflows/rollback';
import { artifactsOf, EXAMPLES, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';

// A manual rollback of a layer whose gates include one the workflow computes itself (`seeds`):
// the rollback runs the layer's seeds again, as child workflows, against the version it restored.

const suite = workerSuite('rollback');
let client: Client;
let home: string;
let taskQueue: string;
let ladderFile: string;

const PROFILE = path.join(EXAMPLES, 'data', 'transactions.profile.json');
/** The example ladder's label rule (examples/ladder.yaml), so the candidates score as they do there. */
const LABEL =
  'is_fraud ~ logistic(-7.5 + 1.7 * (log1p(coalesce(amount, 37)) - 3.6) + 4.85 * coalesce(merchant_risk, 0.3) - 1.1 * (log1p(coalesce(account_age_days, 400)) - 6) + 2.2 * (coalesce(hour, 14) <= 5) + 2.8 * coalesce(is_foreign, 0) + 0.7 * min(coalesce(velocity_24h, 1), 10) + 1.2 * (coalesce(channel, \\"pos\\") == \\"web\\") + 0.6 * (coalesce(channel, \\"pos\\") == \\"app\\") + normal(1.2))';

beforeAll(async () => {
  ({ client, home, taskQueue } = suite);
  await new ApprovalRegistry(home).approve(PROFILE, 'carol', 'stats only, reviewed');
  ladderFile = path.join(home, 'ladder.yaml');
  fs.writeFileSync(
    ladderFile,
    `name: rollback-seeds
allowedPaths: [${path.join(EXAMPLES, 'data')}]
data:
  sources:
    - { name: profile, classification: synthetic, file: ${PROFILE}, labels: ["${LABEL}"] }
layers:
  - name: fidelity
    data:
      source: profile
      rows: 1500
      seed: 4
      policy: ${path.join(EXAMPLES, 'data', 'masking', 'synthetic.yaml')}
      realism: { seasonality: 1.5, noise: 0.05 }
    seeds: [41, 42, 43]
    gates:
      - { type: schema }
      - { type: seeds, threshold: 0.6, options: { metric: auc, maxStd: 0.05 } }
    approval: auto
`,
  );
});

async function promote(name: 'fraud-v1' | 'fraud-v2') {
  const ladder = loadLadder(ladderFile);
  const id = await startPromotion(client, {
    ladder,
    layers: ladder.layers,
    candidate: await exampleCandidate(name),
    initiator: 'dana',
    taskQueue,
    artifacts: artifactsOf(home),
  });
  const { state, reason } = await waitForResult(client, id);
  return { state, reason };
}

describe('manual rollback (real dev server)', () => {
  it('rolls back a layer with a seeds gate: the seeds run again against the restored version', async () => {
    expect(await promote('fraud-v1')).toEqual({ state: 'promoted', reason: undefined });
    expect(await promote('fraud-v2')).toEqual({ state: 'promoted', reason: undefined });

    const ladder = loadLadder(ladderFile);
    const layer = ladder.layers[0];
    // A rollback without its stored ladder is refused: the gates it must pass come from there.
    await expect(
      client.workflow.execute<typeof rollback>('rollback', {
        workflowId: 'rollback.fidelity.unpinned',
        taskQueue,
        args: [{ layer: { ...layer, gates: [] }, actor: 'erin', reason: 'no gates please' }],
      }),
    ).rejects.toMatchObject({ cause: { message: expect.stringContaining('name its stored ladder') } });
    const id = 'rollback.fidelity.test01';
    const result: RollbackResult = await client.workflow.execute<typeof rollback>('rollback', {
      workflowId: id,
      taskQueue,
      // Only the layer's name is taken from the input: a client's gates are not the ladder's.
      args: [
        { layer: { ...layer, gates: [] }, ladder: { name: ladder.name }, actor: 'erin', reason: 'auc regression' },
      ],
    });

    expect(result).toMatchObject({ layer: 'fidelity', state: 'rolled-back', from: '2.0.0', to: '1.0.0' });
    expect(result.gates.map((g) => [g.name, g.passed])).toEqual([
      ['schema', true],
      ['seeds', true],
    ]);
    const seeds = result.gates[1];
    expect(seeds.checks?.map((c) => c.name)).toEqual(['seed 41', 'seed 42', 'seed 43']);
    expect(seeds.detail).toMatch(/^auc over 3 seeds/);
    // Each seed ran again as a child of the rollback, against 1.0.0.
    for (const seed of [41, 42, 43]) {
      const child = await client.workflow.getHandle(`${id}.seed-${seed}`).describe();
      expect(child.status.name).toBe('COMPLETED');
    }
    expect((await suite.worker.provider.describe('fidelity'))!.running).toBe('1.0.0');
  });
});

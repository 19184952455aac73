// `strata status` and `strata list` through Temporal's HTTP API (src/temporal/http-api.ts), on the run's real dev
// server with a real worker: for a promotion parked at its approval, one promoted, one failed at a
// gate and one terminated mid-ladder, the status read over HTTP equals the gRPC client's. The CLI
// reads HTTP when it answers, without loading the gRPC stack, and falls back to gRPC when it does
// not (nothing listening, another server, another namespace).

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tsToDate } from '@temporalio/common/lib/time';
import { parseLadder } from '../../src/config/ladder';
import { layerWorkflowId } from '../../src/domain/promotion';
import { fetchHistory } from '../../src/temporal/history';
import { TemporalHttpReader } from '../../src/temporal/http-api';
import { approve, getStatus, PromotionNotFoundError, startPromotion } from '../../src/temporal/promotions';
import { listFrom } from '../../src/temporal/list';
import { clientReader, readStatus, type WorkflowReader } from '../../src/temporal/status';
import { freePort } from '../../src/tools/ports';
import { artifactsOf, waitForStatus, workerSuite } from '../helpers/harness';
import { runStrata } from '../helpers/cli';
import { exampleCandidate } from '../helpers/ladders';

const suite = workerSuite('status-http');

/** Layer names of their own per promotion, so that no two wait for one environment's lease. */
function ladderYaml(tag: string, threshold: number): string {
  return `
name: status-http-${tag}
layers:
  - name: checks-${tag}
    seed: { rows: 300, seed: 7 }
    gates:
      - { type: schema }
      - { type: quality, threshold: ${threshold} }
    approval: auto
  - name: gated-${tag}
    seed: { rows: 300, seed: 8 }
    gates:
      - { type: quality, threshold: 0.5 }
    approval: { required: 2, approvers: [alice, bob], expiry: 1h }
`;
}

function reader(opts: { base?: string; namespace?: string } = {}): TemporalHttpReader {
  return new TemporalHttpReader({
    base: opts.base ?? inject('temporalHttp'),
    namespace: opts.namespace ?? inject('namespace'),
  });
}

async function promote(tag: string, threshold: number): Promise<string> {
  const { client, home, taskQueue } = suite;
  const ladder = parseLadder(ladderYaml(tag, threshold), `status-http-${tag}.yaml`);
  return startPromotion(client, {
    id: `status-http-${tag}-${path.basename(home).slice(-6)}`,
    ladder,
    layers: ladder.layers,
    candidate: await exampleCandidate('fraud-v2'),
    initiator: 'dana',
    taskQueue,
    artifacts: artifactsOf(home),
  });
}

describe('status through the HTTP API (real dev server, real worker)', () => {
  let parked = '';
  let failed = '';
  let terminated = '';

  beforeAll(async () => {
    const { client } = suite;
    [parked, failed, terminated] = await Promise.all([promote('p', 0.5), promote('f', 0.999), promote('t', 0.5)]);
    await Promise.all([
      waitForStatus(client, parked, (s) => s.state === 'awaiting-approval', 120_000),
      waitForStatus(client, failed, (s) => s.state === 'failed', 120_000),
      waitForStatus(client, terminated, (s) => s.state === 'awaiting-approval', 120_000),
    ]);
    await client.workflow.getHandle(terminated).terminate('status-http test: stopped mid-ladder');
  });

  it('lists promotions as the gRPC client does: phases, filters, limits and pages', async () => {
    const { client, taskQueue } = suite;
    // This suite's promotions only: other files promote on the same server meanwhile.
    const ours = (r: Pick<WorkflowReader, 'list'>): Pick<WorkflowReader, 'list'> => ({
      list: (query, pageSize) => r.list(`${query} AND TaskQueue = '${taskQueue}'`, pageSize),
    });
    const overHttp = ours(reader());
    const overGrpc = ours(clientReader(client));
    const all = await listFrom(overHttp);
    expect(new Map(all.map((row) => [row.id, row.phase]))).toEqual(
      new Map([
        [terminated, 'terminated'],
        [failed, 'failed'],
        [parked, 'awaiting-approval'],
      ]),
    );
    for (const row of all) expect(row).toMatchObject({ candidate: 'fraud-scoring', version: '2.0.0' });
    expect(all.find((row) => row.id === parked)?.closeTime).toBeNull();
    expect(all.find((row) => row.id === failed)?.closeTime).toMatch(/^20\d\d-/);
    for (const opts of [
      {},
      { phase: 'awaiting-approval' as const },
      { phase: 'failed' as const },
      { phase: 'running' as const },
      { phase: 'promoted' as const },
      { limit: 2 },
    ])
      expect(await listFrom(overHttp, opts), JSON.stringify(opts)).toEqual(await listFrom(overGrpc, opts));
    expect((await listFrom(overHttp, { phase: 'awaiting-approval' })).map((row) => row.id)).toEqual([parked]);
    expect(await listFrom(overHttp, { limit: 2 })).toHaveLength(2);
    // A page of one at a time: the reader follows nextPageToken to the end.
    const query = `WorkflowType = 'layer' AND TaskQueue = '${taskQueue}'`;
    const collect = async (r: Pick<WorkflowReader, 'list'>) => {
      const rows = [];
      for await (const wf of r.list(query, 1)) rows.push({ ...wf, keywords: Object.fromEntries(wf.keywords) });
      return rows;
    };
    const layers = await collect(reader());
    expect(layers.length).toBeGreaterThanOrEqual(4);
    expect(layers).toEqual(await collect(clientReader(client)));
    expect(layers.every((l) => [parked, failed, terminated].includes(l.parentWorkflowId ?? ''))).toBe(true);
    expect(layers.find((l) => l.workflowId === layerWorkflowId(parked, 'gated-p'))?.keywords).toMatchObject({
      StrataPhase: 'awaiting-approval',
    });
  });

  it('equals the gRPC client for parked, failed and terminated promotions, then for a promoted one', async () => {
    const { client } = suite;
    for (const id of [parked, failed, terminated]) {
      const viaHttp = await readStatus(reader(), id);
      expect(viaHttp).toEqual(await getStatus(client, id));
    }
    // What each says, so that equal cannot mean equally empty.
    const p = await readStatus(reader(), parked);
    expect(p.state).toBe('awaiting-approval');
    expect(p.layers.map((l) => l.phase)).toEqual(['promoted', 'awaiting-approval']);
    expect(p.layers[0].gates.map((g) => g.name)).toEqual(['schema', 'quality']);
    expect(p.layers[1].approval).toEqual({ required: 2, allowed: ['alice', 'bob'] });
    const f = await readStatus(reader(), failed);
    expect(f.state).toBe('failed');
    expect(f.layers[0].gates.find((g) => g.name === 'quality')?.passed).toBe(false);
    const t = await readStatus(reader(), terminated);
    expect(t.state).toBe('failed');
    expect(t.reason).toContain('stopped mid-ladder');

    // One of two approvals: the layer's accepted Update, at the workflow time it ran (event times).
    await approve(client, parked, { layer: 'gated-p', actor: 'alice', reason: 'looks right' });
    const half = await readStatus(reader(), parked);
    expect(half).toEqual(await getStatus(client, parked));
    expect(half.layers[1].approvals).toEqual([
      { actor: 'alice', decision: 'approve', reason: 'looks right', at: expect.stringMatching(/^20\d\d-/) },
    ]);
    await approve(client, parked, { layer: 'gated-p', actor: 'bob', reason: 'agreed' });
    const promoted = await waitForStatus(client, parked, (s) => s.state === 'promoted', 60_000);
    const viaHttp = await readStatus(reader(), parked);
    expect(viaHttp).toEqual(promoted);
    expect(viaHttp.layers[1].approvals.map((a) => a.actor)).toEqual(['alice', 'bob']);
  });

  it('reads a history page by page as the client does, and names an unknown promotion', async () => {
    const { client } = suite;
    const layer = layerWorkflowId(failed, 'checks-f');
    const paged = new TemporalHttpReader({
      base: inject('temporalHttp'),
      namespace: inject('namespace'),
      pageSize: 4,
    });
    const viaHttp = await paged.history(layer);
    const viaGrpc = (await fetchHistory(client, layer)).events ?? [];
    expect(viaHttp.length).toBeGreaterThan(8);
    expect(viaHttp.map((e) => String(e.eventId))).toEqual(viaGrpc.map((e) => String(e.eventId)));
    const times = (events: typeof viaGrpc) => events.map((e) => tsToDate(e.eventTime!).toISOString());
    expect(times(viaHttp)).toEqual(times(viaGrpc));
    await expect(readStatus(reader(), 'status-http-no-such-promotion')).rejects.toBeInstanceOf(PromotionNotFoundError);
  });

  describe('whether the HTTP API answers', () => {
    let other: http.Server;
    let otherUrl = '';
    beforeAll(async () => {
      other = http.createServer((_req, res) => res.end('<html>not temporal</html>'));
      await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
      otherUrl = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise<void>((r) => other.close(() => r())));

    it('is true for the dev server, false for nothing listening, another server or another namespace', async () => {
      expect(await reader().answers()).toBe(true);
      expect(await reader({ base: `http://127.0.0.1:${await freePort()}` }).answers()).toBe(false);
      expect(await reader({ base: otherUrl }).answers()).toBe(false);
      expect(await reader({ namespace: 'status-http-no-such-namespace' }).answers()).toBe(false);
    });
  });

  it('the CLI reads it without loading gRPC, and falls back to gRPC when it does not answer', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-status-http-'));
    try {
      // Records which modules the CLI process loaded, as it exits.
      const preload = path.join(dir, 'modules.cjs');
      fs.writeFileSync(
        preload,
        `process.on('exit', () => require('fs').writeFileSync(process.env.STRATA_TEST_MODULES, Object.keys(require.cache).join('\\n')));\n`,
      );
      const loaded = async (name: string, env: Record<string, string>, args = ['status', failed, '--json']) => {
        const file = path.join(dir, `${name}.txt`);
        const r = await runStrata(args, suite, {
          ...env,
          NODE_OPTIONS: `--require ${preload}`,
          STRATA_TEST_MODULES: file,
        });
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        return { status: JSON.parse(r.stdout) as unknown, modules: fs.readFileSync(file, 'utf8') };
      };
      const overHttp = await loaded('http', {}); // runStrata sets STRATA_TEMPORAL_HTTP to the dev server's
      const overGrpc = await loaded('grpc', { STRATA_TEMPORAL_HTTP: `http://127.0.0.1:${await freePort()}` });
      expect(overHttp.status).toEqual(overGrpc.status);
      expect(overHttp.status).toEqual(JSON.parse(JSON.stringify(await getStatus(suite.client, failed))));
      expect(overGrpc.modules).toContain(`${path.sep}@grpc${path.sep}grpc-js${path.sep}`);
      expect(overHttp.modules).toContain(`${path.sep}@temporalio${path.sep}common${path.sep}`);
      expect(overHttp.modules).not.toContain(`${path.sep}@grpc${path.sep}grpc-js${path.sep}`);
      expect(overHttp.modules).not.toContain(`${path.sep}protobufjs${path.sep}`);
      // Nor the index of @temporalio/common (its 46 modules): the readers import the files they use.
      expect(overHttp.modules).not.toContain(path.join('@temporalio', 'common', 'lib', 'index.js'));

      // `strata list` likewise (every promotion on the server: this suite's rows are compared).
      const list = ['list', '--json', '--limit', '100000'];
      const listHttp = await loaded('list-http', {}, list);
      const listGrpc = await loaded(
        'list-grpc',
        { STRATA_TEMPORAL_HTTP: `http://127.0.0.1:${await freePort()}` },
        list,
      );
      const ourRows = (rows: unknown) =>
        (rows as Array<{ id: string }>).filter((r) => [failed, terminated].includes(r.id));
      expect(
        ourRows(listHttp.status)
          .map((r) => r.id)
          .sort(),
      ).toEqual([failed, terminated].sort());
      expect(ourRows(listHttp.status)).toEqual(ourRows(listGrpc.status));
      expect(listGrpc.modules).toContain(`${path.sep}@grpc${path.sep}grpc-js${path.sep}`);
      expect(listHttp.modules).not.toContain(`${path.sep}@grpc${path.sep}grpc-js${path.sep}`);
      expect(listHttp.modules).not.toContain(`${path.sep}protobufjs${path.sep}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

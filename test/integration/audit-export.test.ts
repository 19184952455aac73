// The tamper-evident audit export end to end: a real promotion on the run's dev server, the real
// CLI exporting and verifying it, an incremental second export continuing the chain, a tampered
// file refused with its line named, and the daily Schedule writing the next export from a worker.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAccess } from '../../src/api/access';
import { createKeyring } from '../../src/cli/data/keyring';
import { callApi, createTokens, startTestApi } from '../helpers/api';
import { type CliResult, runStrata } from '../helpers/cli';
import { waitForStatus, workerSuite } from '../helpers/harness';
import { testLadderYaml } from '../helpers/ladders';

const suite = workerSuite('audit-export');
let keyDir: string;
let env: Record<string, string>;
const strata = (args: string[], extra: Record<string, string> = {}) => runStrata(args, suite, { ...env, ...extra });
const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const linesOf = (file: string) => fs.readFileSync(file, 'utf8').trimEnd().split('\n');
interface Row {
  type: string;
  seq: number;
  key: string;
  prev: string;
  start: string;
  firstSeq: number;
  lastSeq: number;
  publicKey: string;
  entry: { source: string; action: string };
}
const parsed = (file: string) => linesOf(file).map((l) => JSON.parse(l) as Row);

beforeAll(() => {
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-audit-keyring-'));
  const keyring = path.join(keyDir, 'keyring.yaml');
  createKeyring(keyring);
  env = { STRATA_KEYRING: keyring };
  process.env.STRATA_KEYRING = keyring; // the in-process worker's scheduled export signs with it
});

afterAll(() => {
  delete process.env.STRATA_KEYRING;
  if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
});

describe('strata audit export / verify / pubkey / schedule', () => {
  it('exports a promotion, continues the chain, refuses tampering, and the schedule writes the next export', async () => {
    const ladder = path.join(suite.home, 'ladder.yaml');
    fs.writeFileSync(ladder, testLadderYaml({ name: 'audit-ladder' }));
    const id = `audit-${path.basename(suite.home).slice(-6)}`;
    const started = await strata([
      'promote',
      '--ladder',
      ladder,
      '--candidate',
      'examples/candidates/fraud-v2',
      '--from',
      'traffic',
      '--to',
      'traffic',
      '--as',
      'dana',
      '--id',
      id,
    ]);
    expect(started.code, show(started)).toBe(0);
    await waitForStatus(suite.client, id, (s) => s.layers[0]?.phase === 'awaiting-approval', 120_000);
    const mine = await strata(['approve', id, '--layer', 'traffic', '--as', 'dana', '--reason', 'mine']);
    expect(mine.code, show(mine)).toBe(1);
    const ok = await strata(['approve', id, '--layer', 'traffic', '--as', 'alice', '--reason', 'looks good']);
    expect(ok.code, show(ok)).toBe(0);
    await waitForStatus(suite.client, id, (s) => s.state === 'promoted', 120_000);

    // First export: everything so far, from the genesis head.
    const a = path.join(suite.home, 'a.jsonl');
    let first: CliResult | undefined;
    // The visibility store lists a closed workflow shortly after it closes.
    for (let i = 0; i < 40; i++) {
      fs.rmSync(a, { force: true });
      fs.rmSync(path.join(suite.home, 'audit', 'state.json'), { force: true });
      first = await strata(['audit', 'export', '--out', a, '--json']);
      expect(first.code, show(first)).toBe(0);
      if (parsed(a).some((l) => l.entry?.action === 'promotion.completed')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const rowsA = parsed(a);
    const entriesA = rowsA.filter((l) => l.type === 'entry');
    const actions = entriesA.filter((l) => l.entry.source === `promotion:${id}`).map((l) => l.entry.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'promotion.started',
        'approval.refused',
        'approval.granted',
        'layer.promoted',
        'promotion.completed',
      ]),
    );
    expect(entriesA.some((l) => l.entry.action === 'ladder.changed')).toBe(true); // the ladder promote applied
    expect(entriesA[0]).toMatchObject({ seq: 1, prev: '0'.repeat(64) });
    const sigA = rowsA[rowsA.length - 1];
    expect(sigA).toMatchObject({ type: 'signature', alg: 'ed25519', firstSeq: 1, lastSeq: entriesA.length });
    expect(JSON.parse(first!.stdout)).toMatchObject({ file: a, entries: entriesA.length, lastSeq: entriesA.length });

    const verifyA = await strata(['audit', 'verify', a]);
    expect(verifyA.code, show(verifyA)).toBe(0);
    expect(verifyA.stdout).toContain('ok: chain and signatures verify');

    // The public key: base64 of the raw 32 bytes, the one in the signature line; PEM verifies alone.
    const pub64 = await strata(['audit', 'pubkey', '--raw']);
    expect(pub64.stdout.trim()).toBe(sigA.publicKey);
    const pem = await strata(['audit', 'pubkey']);
    expect(pem.stdout).toContain('-----BEGIN PUBLIC KEY-----');
    const pemFile = path.join(suite.home, 'audit.pem');
    fs.writeFileSync(pemFile, pem.stdout);
    const byPem = await strata(['audit', 'verify', a, '--pubkey', pemFile], {
      STRATA_KEYRING: path.join(keyDir, 'none.yaml'),
    });
    expect(byPem.code, show(byPem)).toBe(0);

    // New activity: a teardown and a dataset approval; the second export holds only them.
    const down = await strata(['teardown', 'traffic', '--as', 'ops', '--reason', 'audit test done']);
    expect(down.code, show(down)).toBe(0);
    const approved = await strata([
      'data',
      'approve',
      'examples/data/transactions.profile.json',
      '--as',
      'sam',
      '--reason',
      'synthetic profile',
    ]);
    expect(approved.code, show(approved)).toBe(0);
    const b = path.join(suite.home, 'b.jsonl');
    let second: CliResult | undefined;
    for (let i = 0; i < 40; i++) {
      second = await strata(['audit', 'export', '--out', b]);
      expect(second.code, show(second)).toBe(0);
      if (parsed(b).some((l) => l.entry?.action === 'teardown.completed')) break;
      // Not listed yet: keep what this export took, continue in the next file of the chain.
      fs.renameSync(b, path.join(suite.home, `b-part-${i}.jsonl`));
      await new Promise((r) => setTimeout(r, 500));
    }
    const parts = fs
      .readdirSync(suite.home)
      .filter((f) => f.startsWith('b-part-'))
      .sort((x, y) => Number(x.slice(7, -6)) - Number(y.slice(7, -6)))
      .map((f) => path.join(suite.home, f));
    const chain = [a, ...parts, b];
    const rowsB = parsed(b);
    const firstOfNext = parts.length > 0 ? parsed(parts[0]) : rowsB;
    expect(firstOfNext[firstOfNext.length - 1]).toMatchObject({ start: sigA.prev, firstSeq: sigA.lastSeq + 1 });
    const newActions = chain.slice(1).flatMap((f) =>
      parsed(f)
        .filter((l) => l.type === 'entry')
        .map((l) => l.entry.action),
    );
    expect(newActions).toEqual(expect.arrayContaining(['teardown.started', 'teardown.completed', 'data.approved']));
    expect(newActions).not.toContain('promotion.started'); // not repeated
    const keysA = new Set(entriesA.map((l) => l.key));
    expect(
      chain
        .slice(1)
        .flatMap((f) => parsed(f))
        .filter((l) => keysA.has(l.key)),
    ).toEqual([]);
    const verifyAB = await strata(['audit', 'verify', ...chain]);
    expect(verifyAB.code, show(verifyAB)).toBe(0);

    // Tampered: one entry line of b edited. Exit 1, the line named, as an edit.
    const lines = linesOf(b);
    const target = lines.findIndex((l) => l.includes('teardown.started'));
    lines[target] = lines[target].replace('audit test done', 'nothing to see');
    const tampered = path.join(suite.home, 'b-tampered.jsonl');
    fs.writeFileSync(tampered, `${lines.join('\n')}\n`);
    const bad = await strata(['audit', 'verify', ...chain.slice(0, -1), tampered, '--json']);
    expect(bad.code, show(bad)).toBe(1);
    const report = JSON.parse(bad.stdout) as {
      ok: boolean;
      problems: Array<{ file: string; line: number; kind: string }>;
    };
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatchObject({ file: tampered, line: target + 1, kind: 'edited' });
    const badText = await strata(['audit', 'verify', ...chain.slice(0, -1), tampered]);
    expect(badText.stdout).toContain(`FAILED: first bad line ${tampered}:${target + 1} (edited)`);

    // The daily Schedule: created once (idempotently), run now; the worker writes the next export
    // under $STRATA_HOME/audit/, continuing the chain.
    const sched = await strata(['audit', 'schedule', '--now', '--json']);
    expect(sched.code, show(sched)).toBe(0);
    expect(JSON.parse(sched.stdout)).toMatchObject({ id: `${suite.taskQueue}.audit-export`, created: true });
    const again = await strata(['audit', 'schedule', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, cron: '17 2 * * *' });
    const auditDir = path.join(suite.home, 'audit');
    let scheduled: string[] = [];
    for (let i = 0; i < 120 && scheduled.length === 0; i++) {
      scheduled = fs.readdirSync(auditDir).filter((f) => /^audit-.*\.jsonl$/.test(f));
      if (scheduled.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    expect(scheduled).toHaveLength(1);
    const c = path.join(auditDir, scheduled[0]);
    await new Promise((r) => setTimeout(r, 200));
    const sigC = parsed(c).at(-1)!;
    expect(sigC).toMatchObject({ type: 'signature', start: rowsB.at(-1)!.prev });
    const verifyAll = await strata(['audit', 'verify', ...chain, c]);
    expect(verifyAll.code, show(verifyAll)).toBe(0);
  });

  it('GET /audit/export: auditors only; a refused request is in the next export, which continues the chain', async () => {
    const access = path.join(suite.home, 'access.yaml');
    fs.writeFileSync(access, 'grants: []\n');
    const tokens = await createTokens(suite, [
      ['audit-bot', 'auditor'],
      ['ops-bot', 'operator'],
    ]);
    const api = await startTestApi({ ...suite, access: loadAccess(access) });
    try {
      const refused = await callApi(api.base, 'GET', '/audit/export', tokens['ops-bot']);
      expect(refused.status).toBe(403);
      const before = JSON.parse(fs.readFileSync(path.join(suite.home, 'audit', 'state.json'), 'utf8')) as {
        seq: number;
        head: string;
      };
      const ok = await callApi(api.base, 'GET', '/audit/export', tokens['audit-bot']);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      const text = (ok.body as { text: string }).text;
      const rows = text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Row);
      expect(rows.at(-1)).toMatchObject({ type: 'signature', start: before.head, firstSeq: before.seq + 1 });
      const refusal = rows.find((r) => r.entry?.action === 'access.refused');
      expect(refusal?.entry).toMatchObject({ source: 'api-refusal' });
      // The CLI in API mode writes the server's export to --out; it verifies with the keyring.
      const out = path.join(suite.home, 'via-api.jsonl');
      const viaCli = await strata(['audit', 'export', '--out', out], {
        STRATA_API: api.base,
        STRATA_TOKEN: tokens['audit-bot'],
      });
      expect(viaCli.code, show(viaCli)).toBe(0);
      const file = path.join(suite.home, 'api-export.jsonl');
      fs.writeFileSync(file, text);
      const verified = await strata(['audit', 'verify', file, out]);
      expect(verified.code, show(verified)).toBe(0);
    } finally {
      await api.close();
    }
  });
});

// Encrypted payloads (STRATA_PAYLOAD_KEYRING): a promotion run by a worker and a client with the
// codec leaves only ciphertext on the Temporal server, read back with the temporal CLI, while
// Strata's own readers (status, audit trail) open it.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { auditTrail } from '../../src/audit/trail';
import { parseLadder } from '../../src/config/ladder';
import { layerWorkflowId } from '../../src/domain/promotion';
import { ensureTemporalCli } from '../../src/temporal/cli';
import { approve, getStatus, startPromotion, waitForResult } from '../../src/temporal/promotions';
import { readStatus } from '../../src/temporal/status';
import { TemporalHttpReader } from '../../src/temporal/http-api';
import { payloadCodecs } from '../../src/temporal/codec';
import { artifactsOf, temporalAddress, waitForStatus, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';
import { runStrata } from '../helpers/cli';
import { callApi, createTokens, startTestApi } from '../helpers/api';
import { EMPTY_ACCESS } from '../../src/api/access';
import { request } from 'undici';

const UI_ORIGIN = 'http://127.0.0.1:8233';

// Set before the suite's worker and client are made: both read it when they are created.
const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-payload-keys-'));
const keyringFile = path.join(keyDir, 'keyring.yaml');
fs.writeFileSync(keyringFile, stringify({ keys: { p1: `hex:${randomBytes(32).toString('hex')}` }, active: 'p1' }), {
  mode: 0o600,
});
process.env.STRATA_PAYLOAD_KEYRING = keyringFile;

const suite = workerSuite('encrypted');

/**
 * Every string of the CLI's JSON, with each base64 string decoded too (plaintext can hide in
 * either), leaving out what is plaintext by design: workflow ids and search attributes, which
 * visibility (`strata list`) needs and the codec never sees.
 */
function readable(json: string): string {
  const out: string[] = [];
  const walk = (v: unknown, key: string): void => {
    if (key === 'searchAttributes' || key === 'workflowId') return;
    if (typeof v === 'string') {
      out.push(v);
      if (v.length >= 8 && /^[A-Za-z0-9+/]+={0,2}$/.test(v)) out.push(Buffer.from(v, 'base64').toString('latin1'));
    } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(JSON.parse(json), '');
  return out.join('\n');
}

async function showWithCli(workflowId: string): Promise<string> {
  const cli = await ensureTemporalCli();
  const { stdout } = await promisify(execFile)(
    cli,
    [
      'workflow',
      'show',
      '--workflow-id',
      workflowId,
      '--address',
      temporalAddress(),
      '--namespace',
      inject('namespace'),
      '--output',
      'json',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

describe('encrypted payloads (real dev server, temporal CLI)', () => {
  it('keeps the candidate, gate details and approval reasons off the server in plaintext; Strata reads them', async () => {
    const { client, taskQueue, home } = suite;
    const ladder = parseLadder(
      `
name: sealed-ladder
layers:
  - name: sealed-box
    seed: { rows: 600, seed: 3 }
    gates: [ { type: schema }, { type: quality, threshold: 0.6 } ]
    approval: { required: 1, approvers: [alice], expiry: 1h }
`,
      'sealed-ladder.yaml',
    );
    const candidate = await exampleCandidate('fraud-v2');
    const reason = `reviewed-${randomBytes(6).toString('hex')}`;
    const id = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate,
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    await waitForStatus(client, id, (s) => s.layers[0].phase === 'awaiting-approval', 120_000);
    await approve(client, id, { layer: 'sealed-box', actor: 'alice', reason });
    const result = await waitForResult(client, id);
    expect(result.state).toBe('promoted');

    // Strata's readers open the payloads: the audit trail names the candidate, the gates and the reason.
    const trail = await auditTrail(client, id);
    const text = JSON.stringify(trail);
    expect(text).toContain(candidate.name);
    expect(text).toContain(reason);
    expect(text).toContain('columns of transactions match');

    // `strata status` through Temporal's HTTP API opens them with the same codec, and reads what
    // the gRPC client reads; without the keyring it cannot read them.
    const viaHttp = await readStatus(
      new TemporalHttpReader({ base: inject('temporalHttp'), namespace: inject('namespace'), codecs: payloadCodecs() }),
      id,
    );
    expect(viaHttp).toEqual(await getStatus(client, id));
    expect(viaHttp.layers[0].approvals[0]?.reason).toBe(reason);
    await expect(
      readStatus(new TemporalHttpReader({ base: inject('temporalHttp'), namespace: inject('namespace') }), id),
    ).rejects.toThrow();
    // So does the CLI itself (the built bundle while it is fresh, as a user runs it): its codec
    // loads the protobuf Payload message on first use, which node's own import() of the CommonJS
    // package could not name.
    const cli = await runStrata(['status', id, '--json'], { home, taskQueue });
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual(JSON.parse(JSON.stringify(viaHttp)));

    // The server holds ciphertext: nothing of them in the payloads of the histories the temporal CLI reads.
    for (const workflowId of [id, layerWorkflowId(id, 'sealed-box')]) {
      const shown = readable(await showWithCli(workflowId));
      expect(shown.length).toBeGreaterThan(1000);
      expect(shown).toContain('binary/encrypted');
      expect(shown).not.toContain(candidate.name);
      expect(shown).not.toContain(reason);
      expect(shown).not.toContain('columns of transactions match');
    }

    // The codec endpoint of strata serve opens them for an authenticated auditor (the Web UI's
    // "codec server"), and refuses everyone else.
    const api = await startTestApi({ client, home, taskQueue, access: EMPTY_ACCESS, codecCorsOrigin: UI_ORIGIN });
    try {
      const tokens = await createTokens({ home, taskQueue }, [
        ['auditor-bot', 'auditor'],
        ['ops-bot', 'operator'],
      ]);
      const cliHistory = JSON.parse(await showWithCli(layerWorkflowId(id, 'sealed-box'))) as {
        events: Array<Record<string, { payloads?: unknown[] }>>;
      };
      const sealed = cliHistory.events.flatMap((e) =>
        Object.values(e).flatMap((attrs) =>
          attrs && typeof attrs === 'object' && 'input' in attrs
            ? ((attrs as { input?: { payloads?: unknown[] } }).input?.payloads ?? [])
            : [],
        ),
      );
      expect(sealed.length).toBeGreaterThan(3);
      const body = { payloads: sealed };
      expect((await callApi(api.base, 'POST', '/codec/decode', undefined, body)).status).toBe(401);
      const wrongRole = await callApi(api.base, 'POST', '/codec/decode', tokens['ops-bot'], body);
      expect(wrongRole.status).toBe(403);
      expect(JSON.stringify(wrongRole.body)).toContain('auditor');
      const opened = await callApi(api.base, 'POST', '/codec/decode', tokens['auditor-bot'], body);
      expect(opened.status).toBe(200);
      const plain = (opened.body as { payloads: Array<{ data: string }> }).payloads
        .map((p) => Buffer.from(p.data, 'base64').toString('utf8'))
        .join('\n');
      expect(plain).toContain(candidate.name);
      expect(plain).toContain('sealed-box');
      // A browser on the Web UI's origin may call it; its preflight is answered for that origin only.
      const preflight = await request(`${api.base}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST' },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(UI_ORIGIN);
      await preflight.body.dump();
      const foreign = await request(`${api.base}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
      });
      expect(foreign.statusCode).toBe(403);
      expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
      await foreign.body.dump();
    } finally {
      await api.close();
    }
  });
});

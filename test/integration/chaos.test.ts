// The fault-injection proxy against the REAL Toxiproxy server (v2.5.0, built once into the cache)
// and a real upstream HTTP server in a child process: every fault, its undo, and the lifecycle.

import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ToxiproxyApiError, ToxiproxyClient } from '../../src/chaos/client';
import { applyFault, faultSchema } from '../../src/chaos/faults';
import {
  ensureToxiproxy,
  type RunningToxiproxy,
  startToxiproxy,
  stopToxiproxy,
  ToxiproxyError,
} from '../../src/chaos/toxiproxy';
import { freePort } from '../../src/tools/ports';
import { processAlive } from '../../src/temporal/cli';
import { startUpstream, type Upstream } from '../helpers/http-upstream';

type Outcome =
  { ok: true; status: number; body: string; ms: number } | { ok: false; code: string; message: string; ms: number };

/**
 * One GET on a fresh keep-alive connection (its own agent, destroyed after), so each request sees
 * the proxy's current state, and the upstream keeps the connection open after answering, as a
 * dependency does for its pooled clients (with `Connection: close` the upstream's FIN would end a
 * timed-out connection at once).
 */
async function get(url: string, timeoutMs = 10_000): Promise<Outcome> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    return await getWith(agent, url, timeoutMs);
  } finally {
    agent.destroy();
  }
}

function getWith(agent: http.Agent, url: string, timeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  const ms = () => performance.now() - started;
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ ok: true, status: res.statusCode!, body: Buffer.concat(chunks).toString(), ms: ms() }),
      );
      res.on('error', (err: NodeJS.ErrnoException) =>
        resolve({ ok: false, code: err.code ?? 'ERR', message: err.message, ms: ms() }),
      );
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ ok: false, code: err.code ?? 'ERR', message: err.message, ms: ms() }),
    );
  });
}

async function expectServes(url: string): Promise<void> {
  const out = await get(url);
  expect(out).toMatchObject({ ok: true, status: 200, body: 'ok' });
}

let dir: string;
let toxiproxy: RunningToxiproxy;
let client: ToxiproxyClient;
let upstream: Upstream;
let proxyPort: number;
let proxyUrl: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-chaos-'));
  toxiproxy = await startToxiproxy({ port: await freePort(), logFile: path.join(dir, 'toxiproxy.log'), seed: 1 });
  client = new ToxiproxyClient(toxiproxy.url);
  upstream = await startUpstream();
  proxyPort = await freePort();
  proxyUrl = `http://127.0.0.1:${proxyPort}`;
  await client.createProxy({ name: 'features', listen: `127.0.0.1:${proxyPort}`, upstream: upstream.address });
});

afterEach(async () => {
  await client.resetAll(); // every test starts without toxics, with every proxy enabled
});

afterAll(async () => {
  await upstream?.stop();
  await toxiproxy?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('Toxiproxy (real server)', () => {
  it('is the pinned version and proxies requests to the upstream', async () => {
    // A `go install` build reports "git" (the release version is set only by release builds' ldflags).
    expect(await client.version()).toMatch(/^(2\.5\.0|git)$/);
    await expectServes(upstream.url);
    await expectServes(proxyUrl);
    const proxies = await client.listProxies();
    expect(proxies).toEqual([
      { name: 'features', listen: `127.0.0.1:${proxyPort}`, upstream: upstream.address, enabled: true, toxics: [] },
    ]);
  });

  it('createProxy is idempotent: same settings reuse the proxy, different ones update it', async () => {
    const again = await client.createProxy({
      name: 'features',
      listen: `127.0.0.1:${proxyPort}`,
      upstream: upstream.address,
    });
    expect(again.listen).toBe(`127.0.0.1:${proxyPort}`);
    expect((await client.listProxies()).map((p) => p.name)).toEqual(['features']);

    // Port 0: Toxiproxy picks one; asking again with port 0 reuses it rather than moving it.
    const any = await client.createProxy({ name: 'other', listen: '127.0.0.1:0', upstream: upstream.address });
    expect(any.listen).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(
      (await client.createProxy({ name: 'other', listen: '127.0.0.1:0', upstream: upstream.address })).listen,
    ).toBe(any.listen);
    await expectServes(`http://${any.listen}`);

    // A different upstream updates the proxy in place (same listen address).
    const moved = await client.createProxy({ name: 'other', listen: '127.0.0.1:0', upstream: '127.0.0.1:1' });
    expect(moved).toMatchObject({ listen: any.listen, upstream: '127.0.0.1:1', enabled: true });
    expect(await get(`http://${any.listen}`)).toMatchObject({ ok: false });
    expect(await client.deleteProxy('other')).toBe(true);
    expect(await client.deleteProxy('other')).toBe(false); // already gone: fine
    expect(await client.getProxy('other')).toBeNull();
  });

  it('latency: every response is delayed by at least the latency; undo restores normal service', async () => {
    const before = await get(proxyUrl);
    expect(before.ok).toBe(true);
    const undo = await applyFault(client, 'features', faultSchema.parse({ type: 'latency', latency: '200ms' }));
    for (let i = 0; i < 3; i++) {
      const slow = await get(proxyUrl);
      expect(slow).toMatchObject({ ok: true, body: 'ok' });
      expect(slow.ms).toBeGreaterThanOrEqual(200);
    }
    // Applying it again (a retry) replaces the toxic rather than stacking a second 200 ms.
    await applyFault(client, 'features', faultSchema.parse({ type: 'latency', latency: '200ms' }));
    expect((await client.listToxics('features')).map((t) => t.name)).toEqual(['strata-latency-downstream']);
    const once = await get(proxyUrl);
    expect(once.ms).toBeGreaterThanOrEqual(200);
    expect(once.ms).toBeLessThan(390);

    await undo();
    await undo(); // undo is idempotent
    expect(await client.listToxics('features')).toEqual([]);
    const after = await get(proxyUrl);
    expect(after).toMatchObject({ ok: true, body: 'ok' });
    expect(after.ms).toBeLessThan(100);
  });

  it('latency with jitter stays within latency ± jitter', async () => {
    const undo = await applyFault(
      client,
      'features',
      faultSchema.parse({ type: 'latency', latency: '100ms', jitter: '50ms' }),
    );
    for (let i = 0; i < 5; i++) {
      const out = await get(proxyUrl);
      expect(out.ok).toBe(true);
      expect(out.ms).toBeGreaterThanOrEqual(50);
      expect(out.ms).toBeLessThan(250);
    }
    await undo();
  });

  it('down: connections are refused while it holds; re-enabling restores service', async () => {
    const undo = await applyFault(client, 'features', faultSchema.parse({ type: 'down' }));
    expect((await client.getProxy('features'))?.enabled).toBe(false);
    expect(await get(proxyUrl)).toMatchObject({ ok: false, code: 'ECONNREFUSED' });
    await undo();
    await expectServes(proxyUrl);

    await client.setEnabled('features', false);
    expect(await get(proxyUrl)).toMatchObject({ ok: false, code: 'ECONNREFUSED' });
    await client.setEnabled('features', true);
    await expectServes(proxyUrl);
  });

  it('reset: connections are reset (TCP RST) as soon as data flows; undo restores service', async () => {
    const undo = await applyFault(client, 'features', faultSchema.parse({ type: 'reset' }));
    const out = await get(proxyUrl);
    expect(out).toMatchObject({ ok: false, code: 'ECONNRESET' });
    expect(out.ok === false && out.message).toMatch(/read ECONNRESET/); // a real reset, not a clean close
    expect(out.ms).toBeLessThan(1000);
    await undo();
    await expectServes(proxyUrl);
  });

  it('timeout: a request hangs with no answer, then the connection is closed after the timeout', async () => {
    const undo = await applyFault(client, 'features', faultSchema.parse({ type: 'timeout', after: '1s' }));
    const out = await get(proxyUrl);
    expect(out).toMatchObject({ ok: false, code: 'ECONNRESET', message: 'socket hang up' });
    expect(out.ms).toBeGreaterThanOrEqual(1000);
    expect(out.ms).toBeLessThan(3000);
    await undo();
    await expectServes(proxyUrl);
  });

  it('timeout 0s: data stops and the connection is held open (the client gives up)', async () => {
    const undo = await applyFault(client, 'features', faultSchema.parse({ type: 'timeout', after: '0s' }));
    const out = await get(proxyUrl, 1500);
    expect(out).toMatchObject({ ok: false, code: 'CLIENT_TIMEOUT' });
    await undo();
    await expectServes(proxyUrl);
  });

  it('bandwidth: a body takes as long as the rate says; undo restores full speed', async () => {
    const bytes = 100 * 1024;
    const fast = await get(`${proxyUrl}/bytes?n=${bytes}`);
    expect(fast).toMatchObject({ ok: true });
    expect(fast.ms).toBeLessThan(200);
    const undo = await applyFault(client, 'features', faultSchema.parse({ type: 'bandwidth', rateKBps: 100 }));
    const slow = await get(`${proxyUrl}/bytes?n=${bytes}`);
    expect(slow).toMatchObject({ ok: true });
    expect(slow.ok && slow.body.length).toBe(bytes);
    expect(slow.ms).toBeGreaterThanOrEqual(800); // 100 KB at 100 KB/s ≈ 1 s
    await undo();
    expect((await get(`${proxyUrl}/bytes?n=${bytes}`)).ms).toBeLessThan(200);
  });

  it('toxicity: a partial failure affects only a share of connections', async () => {
    const undo = await applyFault(client, 'features', faultSchema.parse({ type: 'reset', toxicity: 0.5 }));
    const outcomes = [];
    for (let i = 0; i < 40; i++) outcomes.push(await get(proxyUrl));
    const failed = outcomes.filter((o) => !o.ok).length;
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(35);
    await undo();
    await expectServes(proxyUrl);
  });

  it('resetAll removes every toxic and re-enables every proxy', async () => {
    await applyFault(client, 'features', faultSchema.parse({ type: 'latency', latency: '300ms' }));
    await applyFault(client, 'features', faultSchema.parse({ type: 'down' }));
    await client.resetAll();
    expect(await client.getProxy('features')).toMatchObject({ enabled: true, toxics: [] });
    await expectServes(proxyUrl);
  });

  it('addToxic replaces a toxic of the same name, also when its type differs', async () => {
    await client.addToxic('features', { type: 'latency', name: 'dep', attributes: { latency: 500 } });
    const updated = await client.addToxic('features', {
      type: 'latency',
      name: 'dep',
      toxicity: 1,
      attributes: { latency: 10 },
    });
    expect(updated.attributes).toMatchObject({ latency: 10 });
    await client.addToxic('features', { type: 'bandwidth', name: 'dep', attributes: { rate: 1000 } });
    expect(await client.listToxics('features')).toEqual([
      { name: 'dep', type: 'bandwidth', stream: 'downstream', toxicity: 1, attributes: { rate: 1000 } },
    ]);
    expect(await client.removeToxic('features', 'dep')).toBe(true);
    expect(await client.removeToxic('features', 'dep')).toBe(false);
  });

  it('errors name the proxy and carry the API response', async () => {
    const missing = client.addToxic('nope', { type: 'latency', attributes: { latency: 1 } });
    await expect(missing).rejects.toThrow(ToxiproxyApiError);
    await expect(client.addToxic('nope', { type: 'latency', attributes: { latency: 1 } })).rejects.toThrow(
      'toxiproxy: cannot add latency toxic "latency_downstream" to proxy "nope": 404 proxy not found',
    );
    await expect(client.addToxic('features', { type: 'slowness', attributes: {} })).rejects.toThrow(
      'toxiproxy: cannot add slowness toxic "slowness_downstream" to proxy "features": 400 invalid toxic type',
    );
    await expect(client.setEnabled('nope', false)).rejects.toMatchObject({
      message: 'toxiproxy: cannot update proxy "nope" (enabled false): 404 proxy not found',
      status: 404,
      apiMessage: 'proxy not found',
    });
    // Listening where something already listens (the upstream's port).
    await expect(
      client.createProxy({ name: 'clash', listen: upstream.address, upstream: upstream.address }),
    ).rejects.toThrow(
      /toxiproxy: cannot create proxy "clash" \(listen 127\.0\.0\.1:\d+, upstream 127\.0\.0\.1:\d+\): 500 listen tcp .*address already in use/,
    );
    const nobody = new ToxiproxyClient(`http://127.0.0.1:${await freePort()}`);
    await expect(nobody.listProxies()).rejects.toThrow(
      /toxiproxy: cannot list proxies: no answer from .*ECONNREFUSED.*is Toxiproxy running\?/,
    );
  });
});

describe('startToxiproxy', () => {
  it('stop() leaves no process, attached or detached (own process group)', async () => {
    for (const detached of [false, true]) {
      const port = await freePort();
      const server = await startToxiproxy({ port, logFile: path.join(dir, `lifecycle-${detached}.log`), detached });
      try {
        expect(processAlive(server.pid)).toBe(true);
        expect(await new ToxiproxyClient(server.url).version()).toMatch(/^(2\.5\.0|git)$/);
        // Detached: its own process group (the group id is its pid); attached: ours.
        const stat = fs.readFileSync(`/proc/${server.pid}/stat`, 'utf8');
        const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
        expect(pgid === server.pid).toBe(detached);
      } finally {
        await server.stop();
      }
      expect(processAlive(server.pid)).toBe(false);
      await expect(new ToxiproxyClient(server.url).version()).rejects.toThrow(/no answer/);
      await server.stop(); // twice: fine
    }
  });

  it('stopToxiproxy(pid) ends a detached server by its recorded pid', async () => {
    const server = await startToxiproxy({
      port: await freePort(),
      logFile: path.join(dir, 'by-pid.log'),
      detached: true,
    });
    try {
      await stopToxiproxy(server.pid);
      expect(processAlive(server.pid)).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it('refuses a port where something already answers, and says so', async () => {
    const url = new URL(toxiproxy.url);
    await expect(startToxiproxy({ port: Number(url.port), logFile: path.join(dir, 'clash.log') })).rejects.toThrow(
      /something already answers at http:\/\/127\.0\.0\.1:\d+\/version/,
    );
  });

  it('reports a server that exits before answering, with its log', async () => {
    const binary = await ensureToxiproxy();
    // The port is held by a plain TCP listener that never answers: the server cannot bind and exits.
    const holder = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const started = startToxiproxy({ port, logFile: path.join(dir, 'exits.log'), binary });
      await expect(started).rejects.toThrow(ToxiproxyError);
      await expect(started).rejects.toThrow(
        /Toxiproxy exited \(code 1\) before its API answered at http:\/\/127\.0\.0\.1:\d+; is port \d+ already in use\? Last lines of .*exits\.log:\n[^]*address already in use/,
      );
    } finally {
      holder.close();
    }
  });
});

// `npm run bench -- proxy [--requests N] [--rounds N]`
//
// The latency Toxiproxy adds with no fault. A tiny HTTP server runs in a child process; one
// keep-alive connection sends N sequential GETs straight to it (the baseline) and another sends N
// through a Toxiproxy proxy in front of it, in alternating rounds in one run (the order flips each
// round, so neither arm always runs first). Prints p50/p99 of both and the p50 difference.
// Target: the proxy adds ≤ 0.2 ms at p50.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'undici';
import { ToxiproxyClient } from '../src/chaos/client';
import { ensureToxiproxy, startToxiproxy, TOXIPROXY_VERSION } from '../src/chaos/toxiproxy';
import { freePort } from '../src/tools/ports';
import { startUpstream } from '../test/helpers/http-upstream';
import { flag, median, table } from './support';

const TARGET_MS = 0.2;

function quantile(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** n sequential GETs on one keep-alive connection; each request's latency in ms. */
async function sequential(client: Client, n: number, out: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const res = await client.request({ method: 'GET', path: '/' });
    await res.body.text();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (res.statusCode !== 200) throw new Error(`unexpected status ${res.statusCode}`);
  }
}

const ms = (x: number): string => x.toFixed(3);

export async function run(args: string[]): Promise<void> {
  const requests = flag(args, 'requests', 2000);
  const rounds = flag(args, 'rounds', 10);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-proxy-'));
  const upstream = await startUpstream();
  const binary = await ensureToxiproxy();
  const toxiproxy = await startToxiproxy({ port: await freePort(), logFile: path.join(dir, 'toxiproxy.log'), binary });
  const clients: Client[] = [];
  try {
    const api = new ToxiproxyClient(toxiproxy.url);
    const proxy = await api.createProxy({ name: 'bench', listen: '127.0.0.1:0', upstream: upstream.address });
    console.log(
      `proxy bench: Toxiproxy v${TOXIPROXY_VERSION} (${binary}), ${rounds} rounds × ${requests} sequential keep-alive GETs per arm, ` +
        `node ${process.version}, ${os.cpus().length} CPUs`,
    );

    const arms = {
      direct: { label: 'direct (baseline)', client: new Client(upstream.url, { pipelining: 1 }) },
      proxy: { label: 'through Toxiproxy, no toxic', client: new Client(`http://${proxy.listen}`, { pipelining: 1 }) },
    };
    type Arm = keyof typeof arms;
    const names = Object.keys(arms) as Arm[];
    for (const k of names) clients.push(arms[k].client);
    const samples: Record<Arm, number[]> = { direct: [], proxy: [] };
    const roundP50: Record<Arm, number[]> = { direct: [], proxy: [] };

    for (const k of names) await sequential(arms[k].client, Math.min(1000, requests), []); // warm-up (JIT, connections)
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...names].reverse() : names;
      for (const k of order) {
        const times: number[] = [];
        await sequential(arms[k].client, requests, times);
        samples[k].push(...times);
        roundP50[k].push(quantile(Float64Array.from(times).sort(), 0.5));
      }
    }

    const stats = Object.fromEntries(
      names.map((k) => {
        const sorted = Float64Array.from(samples[k]).sort();
        return [
          k,
          {
            p50: quantile(sorted, 0.5),
            p90: quantile(sorted, 0.9),
            p99: quantile(sorted, 0.99),
            max: sorted[sorted.length - 1],
          },
        ];
      }),
    ) as Record<Arm, { p50: number; p90: number; p99: number; max: number }>;
    console.log(`\nlatency per request, ms (${rounds * requests} requests per arm)`);
    console.log(
      table([
        ['arm', 'p50', 'p90', 'p99', 'max', 'p50 vs direct'],
        ...names.map((k) => [
          arms[k].label,
          ms(stats[k].p50),
          ms(stats[k].p90),
          ms(stats[k].p99),
          ms(stats[k].max),
          `${(stats[k].p50 / stats.direct.p50).toFixed(2)}×`,
        ]),
      ]),
    );
    const added = stats.proxy.p50 - stats.direct.p50;
    const perRound = roundP50.proxy.map((p, i) => p - roundP50.direct[i]);
    console.log(
      `per-round p50 difference, ms: ${perRound.map(ms).join(' ')} (median ${ms(median(perRound))}, ` +
        `min ${ms(Math.min(...perRound))}, max ${ms(Math.max(...perRound))})`,
    );
    console.log(`p99 difference: +${ms(stats.proxy.p99 - stats.direct.p99)} ms`);
    console.log(
      `latency Toxiproxy adds with no fault, p50: +${ms(added)} ms (${added <= TARGET_MS ? 'meets' : 'misses'} ≤ ${TARGET_MS} ms)`,
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await toxiproxy.stop();
    await upstream.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

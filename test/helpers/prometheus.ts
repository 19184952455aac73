import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/tools/ports';

/** The Debian `prometheus` binary on PATH (CI installs it: .ci/run), or undefined. */
export function prometheusBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

export interface TestPrometheus {
  url: string;
  /** An instant PromQL query through the HTTP API: the vector's samples. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** Polls `query` until `pred` holds on its result (or fails after timeoutMs, naming the query). */
  waitFor(
    promql: string,
    pred: (r: Array<{ metric: Record<string, string>; value: number }>) => boolean,
    timeoutMs?: number,
  ): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  stop(): Promise<void>;
}

/**
 * A real Prometheus on a free port scraping `target` (host:port) every second, evaluating
 * `opts.ruleFiles` (alerting rules) every second too.
 */
export async function startPrometheus(
  binary: string,
  target: string,
  opts: { ruleFiles?: string[] } = {},
): Promise<TestPrometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: strata-worker',
      `    static_configs: [{ targets: ['${target}'] }]`,
      ...(opts.ruleFiles?.length ? ['rule_files:', ...opts.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(dir, 'prometheus.log'), 'a');
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', log, log] },
  );
  const logText = () => fs.readFileSync(path.join(dir, 'prometheus.log'), 'utf8').slice(-2000);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${logText()}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus not ready on ${url} after 30 s: ${logText()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const query: TestPrometheus['query'] = async (promql) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  return {
    url,
    query,
    async waitFor(promql, pred, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const r = await query(promql);
        if (pred(r)) return r;
        if (Date.now() > until) throw new Error(`PromQL ${promql}: still ${JSON.stringify(r)} after ${timeoutMs} ms`);
        await new Promise((res) => setTimeout(res, 500));
      }
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      fs.closeSync(log);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// `strata runs ls|show`, `strata replay` and `strata compare`: stored load runs, replaying one
// against the same candidate, and comparing two against their run-to-run noise.

import type { Command } from 'commander';
import { getRun, replayRun } from '../services/replay';
import { compareRuns, formatValue, type RunComparison } from '../load/compare';
import type { LatencySummary, LoadResult } from '../load/generator';
import { describePhases } from '../load/profile';
import { RunStore, type StoredRun } from '../load/runs';
import { pct } from '../domain/percent';
import { loadSettings } from '../temporal/settings';
import { apiBase, callApi } from './api-client';
import { command, type JsonOption } from './command';
import { print, printJson, printRows } from './context';
import { EXIT_FAILED, EXIT_OK, type ExitCode } from './errors';
import { table } from './render';

/** The stored runs of $STRATA_HOME (local mode; in API mode the server's, through GET /runs). */
function store(): RunStore {
  return new RunStore(loadSettings().home);
}

const ms = (x: number | null): string => (x === null ? '-' : x.toFixed(x >= 100 ? 1 : 3));
const candidateLabel = (c: StoredRun['candidate']): string => `${c.name} ${c.version}`;

function errorBreakdown(r: LoadResult): string {
  const parts = Object.entries(r.errors.byStatus)
    .sort((a, b) => b[1] - a[1])
    .map(([status, n]) => `${n}× HTTP ${status}`);
  if (r.errors.timeouts) parts.push(`${r.errors.timeouts} timeouts`);
  if (r.errors.dropped) parts.push(`${r.errors.dropped} dropped by the throttle`);
  for (const [code, n] of Object.entries(r.errors.connectionByCode)) parts.push(`${n}× ${code}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function latencyLine(label: string, l: LatencySummary): string {
  return `${label}: p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p999)}  max ${ms(l.max)}`;
}

export function renderRun(run: StoredRun): string {
  const r = run.results;
  const p = run.profile;
  const source = p.requests.source === 'replay' ? `replayed from ${p.requests.file}` : 'from the environment';
  const lines = [
    `run ${run.id}${r.aborted ? ' (aborted)' : ''}: ${candidateLabel(run.candidate)} (sha256 ${run.candidate.digest.slice(0, 12)}) in ${run.layer}, ${run.createdAt}` +
      (run.replayOf ? `, replay of ${run.replayOf}` : ''),
    `target ${r.target}`,
    `profile: ${describePhases(p)}; at most ${p.maxConcurrency} in flight, timeout ${p.timeoutMs} ms, requests ${source}, seed ${run.seed}, ${p.batch} record${p.batch === 1 ? '' : 's'} per request`,
    `requests: ${r.requests.intended} intended, ${r.requests.sent} sent, ${r.requests.answered} answered (${r.requests.ok} ok)` +
      (r.aborted ? `, ${r.requests.cancelled} cancelled, ${r.requests.unsent} never sent` : ''),
    `rate: target ${r.targetRate} req/s, achieved ${r.achievedRate} req/s (${r.achievedRatePercent} %); throughput ${r.throughput} req/s over ${(r.durationMs / 1000).toFixed(1)} s`,
    latencyLine('latency ms (from the intended send time)', r.latencyMs),
    latencyLine('service time ms (from the actual send)  ', r.serviceTimeMs),
    `errors: ${r.errors.total} (${pct(r.errors.rate)})${errorBreakdown(r)}`,
  ];
  const full = r.windows.filter((w) => !w.partial && w.p99 !== null).map((w) => w.p99!);
  if (full.length > 0) {
    lines.push(
      `windows: ${r.windows.length} one-second windows; p99 per full window ${ms(Math.min(...full))} … ${ms(Math.max(...full))} ms`,
    );
  }
  return lines.join('\n');
}

function runSummary(run: StoredRun) {
  const r = run.results;
  return {
    id: run.id,
    createdAt: run.createdAt,
    layer: run.layer,
    candidate: run.candidate,
    target: run.target,
    replayOf: run.replayOf ?? null,
    aborted: r.aborted,
    targetRate: r.targetRate,
    achievedRate: r.achievedRate,
    achievedRatePercent: r.achievedRatePercent,
    p99Ms: r.latencyMs.p99,
    errorRate: r.errors.rate,
  };
}

export function renderComparison(c: RunComparison): string {
  const rows = c.metrics.map((m) => [
    m.label,
    formatValue(m.a, m.unit),
    formatValue(m.b, m.unit),
    formatValue(m.delta, m.unit, true),
    m.deltaPercent === null ? '-' : `${m.deltaPercent > 0 ? '+' : ''}${m.deltaPercent.toFixed(1)} %`,
    m.noise === null ? '-' : formatValue(m.noise, m.unit),
    m.verdict,
  ]);
  const lines = [
    `A ${c.a.id}${c.a.candidate ? `: ${c.a.candidate}` : ''}${c.a.layer ? ` in ${c.a.layer}` : ''}`,
    `B ${c.b.id}${c.b.candidate ? `: ${c.b.candidate}` : ''}${c.b.layer ? ` in ${c.b.layer}` : ''}`,
    '',
    table(['METRIC', 'A', 'B', 'B − A', 'Δ %', `NOISE (${c.k}×SE)`, 'VERDICT'], rows),
    '',
    `verdict: ${c.summary}`,
    `noise from ${c.windows.a} + ${c.windows.b} one-second windows (see src/load/compare.ts for the method)`,
  ];
  for (const note of c.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

/** `strata replay`: through the API in API mode, else from this process. */
async function replay(id: string, opts: RunOptions['replay']): Promise<ExitCode> {
  let run: StoredRun;
  if (apiBase()) {
    process.stderr.write(`strata: replaying ${id} on the server…\n`);
    run = await callApi<StoredRun>('POST', `/runs/${encodeURIComponent(id)}/replay`, {});
  } else {
    const controller = new AbortController();
    const stop = () => controller.abort(new Error('interrupted'));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      run = await replayRun(loadSettings().home, id, {
        signal: controller.signal,
        log: (line) => process.stderr.write(`strata: ${line}\n`),
      });
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
  }
  if (opts.json) printJson(run);
  else {
    print(renderRun(run));
    print(`\ncompare: strata compare ${id} ${run.id}`);
  }
  return run.results.aborted ? EXIT_FAILED : EXIT_OK;
}

/** A stored run: from the API in API mode, else from $STRATA_HOME/runs. */
async function fetchRun(id: string): Promise<StoredRun> {
  return apiBase() ? callApi<StoredRun>('GET', `/runs/${encodeURIComponent(id)}`) : getRun(store(), id);
}

/** The options of the run commands: runs ls | show, replay and compare. */
export interface RunOptions {
  ls: JsonOption;
  show: JsonOption;
  replay: JsonOption;
  compare: JsonOption;
}

export function registerRunCommands(program: Command): void {
  const runs = program.command('runs').description('stored load runs: profile, seed, candidate and results of each');

  command(runs, 'ls', 'stored runs, newest first')
    .options<RunOptions['ls']>({ json: { description: 'print JSON' } })
    .action(async (opts) => {
      const all = apiBase()
        ? await callApi<StoredRun[]>('GET', '/runs')
        : store().list((file, message) => process.stderr.write(`strata: skipped ${file}: ${message}\n`));
      printRows(all, {
        json: opts.json,
        toJson: (items) => items.map(runSummary),
        empty: 'no runs yet',
        header: ['ID', 'CREATED', 'LAYER', 'CANDIDATE', 'TARGET', 'ACHIEVED', 'P99', 'ERRORS', 'REPLAY OF'],
        row: (run) => {
          const r = run.results;
          return [
            run.id + (r.aborted ? ' (aborted)' : ''),
            run.createdAt,
            run.layer,
            candidateLabel(run.candidate),
            `${r.targetRate}/s`,
            `${r.achievedRatePercent} %`,
            r.latencyMs.p99 === null ? '-' : `${ms(r.latencyMs.p99)} ms`,
            pct(r.errors.rate),
            run.replayOf ?? '-',
          ];
        },
      });
      return EXIT_OK;
    });

  command(runs, 'show <id>', "a run's profile, seed, candidate and results")
    .options<RunOptions['show']>({ json: { description: 'print JSON (the stored run)' } })
    .action(async (id, opts) => {
      const run = await fetchRun(id);
      if (opts.json) printJson(run);
      else print(renderRun(run));
      return EXIT_OK;
    });

  command(
    program,
    'replay <id>',
    "run a stored run's profile again (same seed, same candidate, which must be running in its layer) as a new run",
  )
    .options<RunOptions['replay']>({ json: { description: 'print JSON (the new run)' } })
    .action((id, opts) => replay(id, opts));

  command(
    program,
    'compare <a> <b>',
    'two runs side by side, with deltas (B − A) and whether each exceeds the run-to-run noise',
  )
    .options<RunOptions['compare']>({ json: { description: 'print JSON' } })
    .action(async (a, b, opts) => {
      const comparison = compareRuns(await fetchRun(a), await fetchRun(b));
      if (opts.json) printJson(comparison);
      else print(renderComparison(comparison));
      return EXIT_OK;
    });
}

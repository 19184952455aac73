// `npm run bench -- data`
//
// The data plane's three benchmarks in one run, then one summary table:
//   - synth (bench/synth.ts): synthesis rows/s written to CSV against faker writing the same CSV
//     row by row (target ≥ 10×), 15 alternating rounds, medians; peak RSS generating 1 M and 10 M
//     rows (flat: < 1.5×);
//   - sanitize (bench/sanitize.ts): streaming sanitize rows/s against the same per-row logic in one
//     transaction (byte-identical output, checked), 5 rounds, medians — on 50,000 rows;
//   - pii (bench/pii.ts): scan MiB/s of ~50 MiB of mixed text (target ≥ 50 on one core), 3 rounds
//     after a warm-up, medians.
// Each benchmark prints its own tables as it runs; the summary reads its figures from those lines.
// The benchmarks keep their own output format, so a change to it fails this run loudly rather than
// mis-reporting.

import os from 'node:os';
import { table } from './support';

const SYNTH_ARGS = ['--memory-rows', '1000000,10000000'];
const SANITIZE_ARGS = ['--rows', '50000', '--rounds', '5'];
const PII_ARGS = ['--mb', '50', '--rounds', '3'];

type Bench = { run(args: string[]): Promise<void> };

/** Runs a benchmark, echoing its output, and returns the lines it printed. */
async function captured(name: string, bench: Bench, args: string[]): Promise<{ lines: string[]; seconds: number }> {
  console.log(`\n=== ${name} ${args.join(' ')} ===`);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => {
    log(...parts);
    lines.push(...parts.map(String).join(' ').split('\n'));
  };
  const started = process.hrtime.bigint();
  try {
    await bench.run(args);
  } finally {
    console.log = log;
  }
  return { lines, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

class OutputChanged extends Error {}

/** The cells of the table row whose first cell is `label` (cells are separated by two or more spaces). */
function row(name: string, lines: string[], label: string): string[] {
  const line = lines.find((l) => l.startsWith(label));
  if (!line) throw new OutputChanged(`bench ${name}: no line starting with "${label}"; did its output format change?`);
  return line.trim().split(/\s{2,}/);
}

function match(name: string, lines: string[], pattern: RegExp): RegExpExecArray {
  for (const line of lines) {
    const m = pattern.exec(line);
    if (m) return m;
  }
  throw new OutputChanged(`bench ${name}: no line matching ${pattern}; did its output format change?`);
}

const number = (text: string): number => Number(text.replace(/[,×]/g, ''));
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function run(args: string[]): Promise<void> {
  if (args.length > 0)
    throw new Error(
      `bench data takes no arguments (got ${args.join(' ')}); run synth, sanitize or pii alone to change theirs`,
    );
  const load = os.loadavg()[0];
  const synth = await captured('synth', await import('./synth'), SYNTH_ARGS);
  const sanitize = await captured('sanitize', await import('./sanitize'), SANITIZE_ARGS);
  const pii = await captured('pii', await import('./pii'), PII_ARGS);

  const ours = row('synth', synth.lines, 'gaussian copula → CSV file');
  const faker = row('synth', synth.lines, 'faker row by row → CSV file (baseline)');
  const synthRatio = match('synth', synth.lines, /^ratio ([\d.]+)× wall clock, ([\d.]+)× CPU time/);
  const memoryHeader = synth.lines.findIndex((l) => l.startsWith('peak RSS generating rows'));
  if (memoryHeader < 0) throw new OutputChanged('bench synth: no peak RSS table; did its output format change?');
  const memory = synth.lines.slice(memoryHeader + 2, memoryHeader + 4).map((l) => l.trim().split(/\s{2,}/));
  const growth = match('synth', synth.lines, /^peak RSS ×([\d.]+) for ×(\d+) the rows/);

  const streamEnv = row('sanitize', sanitize.lines, 'streaming sanitize → env data.db');
  const streamCsv = row('sanitize', sanitize.lines, 'streaming sanitize → CSV file');
  const perRowTx = row('sanitize', sanitize.lines, 'per-row script, one transaction (baseline)');
  match('sanitize', sanitize.lines, /^outputs byte-identical/);

  const library = row('pii', pii.lines, 'library scanSqlite');
  const naive = row('pii', pii.lines, 'naive: every regex, every value');
  const libraryCpu = number(library[1]);

  const synthPass = number(synthRatio[1]) >= 10;
  const flat = number(growth[1]) < 1.5;
  console.log(
    `\n=== data benchmarks: summary (${new Date().toISOString().slice(0, 10)}; node ${process.version}, ${os.cpus().length} CPUs, ` +
      `load average ${load.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end; ` +
      `synth ${synth.seconds.toFixed(0)} s, sanitize ${sanitize.seconds.toFixed(0)} s, pii ${pii.seconds.toFixed(0)} s) ===`,
  );
  console.log(
    table([
      ['benchmark', 'measured', 'value', 'baseline', 'ratio', 'target', 'verdict'],
      [
        'synthesis (median of 15)',
        'rows/s written to CSV',
        ours[1],
        `${faker[1]} (faker → same CSV)`,
        `${synthRatio[1]}× (CPU ${synthRatio[2]}×)`,
        '≥ 10×',
        synthPass ? 'PASS' : 'FAIL',
      ],
      [
        'sanitize (median of 5)',
        'rows/s into an env data.db',
        fmt(number(streamEnv[1])),
        `${fmt(number(perRowTx[1]))} (same per-row logic, one transaction; byte-identical)`,
        streamEnv[4],
        '-',
        '-',
      ],
      ['', 'rows/s into a CSV file', fmt(number(streamCsv[1])), '', streamCsv[4], '-', '-'],
      [
        'PII scan (median of 3)',
        'MiB/s of CPU time (wall)',
        `${library[1]} (${library[2]})`,
        `${naive[1]} (naive regexes)`,
        `${(libraryCpu / number(naive[1])).toFixed(2)}×`,
        '≥ 50 MiB/s',
        libraryCpu >= 50 ? 'PASS' : 'FAIL',
      ],
      [
        'synthesis memory',
        `peak RSS MB at ${memory.map((m) => m[0]).join(' / ')} rows`,
        memory.map((m) => m[4]).join(' / '),
        '',
        `×${growth[1]} for ×${growth[2]} rows`,
        'flat (< 1.5×)',
        flat ? 'PASS' : 'FAIL',
      ],
    ]),
  );
}

if (require.main === module) {
  run(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof OutputChanged ? err.message : err);
    process.exitCode = 1;
  });
}

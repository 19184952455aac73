// `strata data profile` and `strata data generate`: statistics-only profiles of a table, and
// synthetic data generated from one with a measured fidelity report.

import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_K, profileSource } from '../data/profile/profiler';
import { type ColumnProfile, type DataProfile, loadProfile } from '../data/profile/schema';
import { checkFidelity, DEFAULT_FIDELITY_THRESHOLD, type FidelityReport } from '../data/synth/fidelity';
import { generateDataset, type SynthesisTarget } from '../data/synth/output';
import type { SynthesisOptions } from '../data/synth/generator';
import { populationReportPath } from '../data/populate';
import { writeFileAtomically } from '../tools/files';
import { ApprovalRegistry, fileDigest } from '../data/approvals';
import { scanSqlite } from '../data/pii/scan';
import { ConfigError } from '../validation/errors';
import { describeFindings } from '../domain/data';
import { loadSettings } from '../temporal/settings';
import Database from 'better-sqlite3';
import { print, printJson } from './context';
import { EXIT_FAILED, EXIT_OK, UsageError } from './errors';
import { table } from './render';

/** The `data` command group, shared with the other data commands whichever registers first. */
export function dataGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'data') ??
    program.command('data').description('the data plane: profiles, synthesis, masking, PII scanning')
  );
}

function integerOption(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name}: expected an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return n;
}

function numberOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name}: expected a number between ${min} and ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const pct = (x: number): string => `${(x * 100).toFixed(x > 0 && x < 0.001 ? 3 : 1)} %`;

function columnDetail(c: ColumnProfile): string {
  switch (c.type) {
    case 'numeric':
    case 'integer': {
      const q = c.numeric.quantiles;
      const discrete = c.numeric.discrete ? `; ${c.numeric.discrete.values.length} frequent values` : '';
      return `p1 ${q.p1}  p50 ${q.p50}  p99 ${q.p99}${discrete}`;
    }
    case 'datetime': {
      const iso = (t: number) => new Date(t).toISOString().slice(0, 7);
      return `${iso(c.datetime.min)} … ${iso(c.datetime.max)} (months), format ${c.datetime.format}`;
    }
    case 'categorical': {
      const { categories, other } = c.categorical;
      return `${categories.length} categories${other.count > 0 ? `; ${other.distinct} rarer than k folded into other (${other.count} rows)` : ''}`;
    }
    case 'boolean':
      return `${pct(c.boolean.trueCount / Math.max(1, c.boolean.trueCount + c.boolean.falseCount))} ${c.boolean.trueToken}`;
    case 'identifier': {
      const f = c.identifier.formats;
      const shown =
        f.length === 0
          ? 'no shape shared by k values'
          : f
              .slice(0, 2)
              .map((x) => x.pattern)
              .join(' | ') + (f.length > 2 ? ` (+${f.length - 2})` : '');
      return `format ${shown}; ${pct(c.identifier.distinctRatio)} distinct`;
    }
    case 'free-text':
      return `length ${c.text.length.min}–${c.text.length.max} (mean ${c.text.length.mean}), ${c.text.words.mean} words on average`;
  }
}

export function renderProfile(profile: DataProfile, file: string): string {
  const lines = [
    `profile of table ${profile.table} (${profile.source.kind}): ${profile.rows} rows, ${profile.columns.length} columns, k = ${profile.k} → ${file}`,
    '',
    table(
      ['COLUMN', 'TYPE', 'MISSING', 'DETAIL'],
      profile.columns.map((c) => [c.name, c.type, pct(c.missingRate), columnDetail(c)]),
    ),
  ];
  const strong = profile.associations.filter((a) => Math.abs(a.value) >= 0.3);
  if (strong.length > 0) {
    lines.push(
      '',
      `associations with |value| ≥ 0.3: ${strong.map((a) => `${a.columns.join('~')} ${a.method === 'spearman' ? 'ρ' : 'V'} ${a.value}`).join(', ')}`,
    );
  }
  return lines.join('\n');
}

export function renderFidelity(report: FidelityReport, threshold: number): string {
  const check = checkFidelity(report, threshold);
  const lines = [
    table(
      ['COLUMN', 'METRIC', 'SCORE'],
      report.columnShapes.columns.map((c) => [c.column, c.metric, c.score.toFixed(3)]),
    ),
  ];
  const weakest = [...report.pairTrends.pairs].sort((a, b) => a.score - b.score).slice(0, 5);
  if (weakest.length > 0) {
    lines.push('', `pair trends: ${report.pairTrends.pairs.length} pairs, lowest:`);
    lines.push(
      table(
        ['PAIR', 'METRIC', 'REAL', 'SYNTHETIC', 'SCORE'],
        weakest.map((p) => [
          p.columns.join(' ~ '),
          p.metric,
          p.real?.toFixed(3) ?? '–',
          p.synthetic?.toFixed(3) ?? '–',
          p.score.toFixed(3),
        ]),
      ),
    );
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  lines.push('', check.message);
  return lines.join('\n');
}

function defaultReportFile(target: SynthesisTarget): string {
  return target.kind === 'csv' ? `${target.file}.fidelity.json` : `${target.file}.${target.table}.fidelity.json`;
}

/**
 * `data generate --env LAYER`: generates into a copy of the environment's database and swaps it
 * in only when the fidelity threshold is met, so a failed run leaves the environment as it was.
 * The fidelity report is stored with the environment (data.db.fidelity.json).
 */
async function generateIntoEnvironment(
  layer: string,
  profile: DataProfile,
  options: SynthesisOptions,
  threshold: number,
  opts: { table?: string; json?: boolean; profile: string; piiAllow?: string },
  setExit: (code: number) => void,
): Promise<void> {
  if (!/^[a-z][a-z0-9-]*$/.test(layer))
    throw new UsageError(
      `--env: expected a layer name (lowercase letters, digits and -), got ${JSON.stringify(layer)}`,
    );
  const piiAllowance = integerOption('pii-allow', opts.piiAllow ?? '0', 0);
  const home = loadSettings().home;
  const dir = path.join(home, 'envs', layer);
  if (!fs.existsSync(dir)) {
    throw new ConfigError(dir, [
      {
        path: '',
        message: `layer ${layer} has no environment; provision it first (promote a candidate into it), then generate into it`,
      },
    ]);
  }
  // Into an environment, population's rules hold: an approved profile, and a PII scan before the swap.
  const { digest } = await fileDigest(opts.profile);
  const approval = new ApprovalRegistry(home).lookup(digest);
  if (!approval || approval.revoked) {
    process.stderr.write(
      `strata: data generate: dataset not approved: ${opts.profile} (sha256 ${digest.slice(0, 12)}) ${approval?.revoked ? 'had its approval revoked' : 'has not been approved'}; ` +
        `approve it with \`strata data approve ${opts.profile} --as <you> --reason <why>\`; environment ${layer} left unchanged\n`,
    );
    setExit(EXIT_FAILED);
    return;
  }
  const dbPath = path.join(dir, 'data.db');
  const staging = `${dbPath}.${process.pid}.generating.db`;
  fs.rmSync(staging, { force: true });
  try {
    if (fs.existsSync(dbPath)) {
      // The environment's other tables stay: start from a consistent copy of the database.
      const db = new Database(dbPath, { readonly: true });
      try {
        db.prepare('VACUUM INTO ?').run(staging);
      } finally {
        db.close();
      }
    }
    const table = opts.table ?? profile.table;
    const result = generateDataset(profile, options, { kind: 'sqlite', file: staging, table, replace: true });
    const check = checkFidelity(result.fidelity, threshold);
    if (!check.passed) {
      process.stderr.write(`strata: data generate: ${check.message}; environment ${layer} left unchanged\n`);
      if (!opts.json) print(renderFidelity(result.fidelity, threshold));
      setExit(EXIT_FAILED);
      return;
    }
    const scan = await scanSqlite(staging, { tables: [table] });
    if (scan.total > piiAllowance) {
      process.stderr.write(
        `strata: data generate: PII found in the generated rows: ${scan.total} findings (allowance ${piiAllowance}): ${describeFindings(scan.findings)}; environment ${layer} left unchanged\n`,
      );
      setExit(EXIT_FAILED);
      return;
    }
    fs.renameSync(staging, dbPath);
    // A hand-generated table is not what population recorded: forget that record.
    fs.rmSync(populationReportPath(dbPath), { force: true });
    writeFileAtomically(`${dbPath}.fidelity.json`, `${JSON.stringify(result.fidelity, null, 2)}\n`, { mkdir: true });
    setExit(EXIT_OK);
    if (opts.json) printJson({ ...result, environment: layer, check });
    else {
      print(
        `generated ${result.rows} rows (seed ${options.seed}) from ${opts.profile} → environment ${layer} (${dbPath}, table ${table}) in ${result.seconds.toFixed(2)} s`,
      );
      print(`fidelity report → ${dbPath}.fidelity.json\n`);
      print(renderFidelity(result.fidelity, threshold));
    }
  } finally {
    fs.rmSync(staging, { force: true });
  }
}

export function registerDataProfileCommands(program: Command, setExit: (code: number) => void): void {
  const data = dataGroup(program);

  data
    .command('profile <source>')
    .description(
      'profile a table — a CSV file, a SQLite file or a postgres:// URL — into statistics only, never rows (streamed)',
    )
    .option(
      '--table <name>',
      'the table (required for PostgreSQL and for SQLite files holding several; names the table of a CSV)',
    )
    .requiredOption('--out <file>', 'where to write the profile (JSON)')
    .option(
      '--k <n>',
      'k-anonymity: categories and identifier shapes seen fewer than k times are not published',
      String(DEFAULT_K),
    )
    .option('--sample-rows <n>', 'rows in the uniform sample behind quantiles and associations', '50000')
    .option(
      '--format-only <columns>',
      'comma-separated columns to record by format only, whatever they hold (e.g. PII found by the scanner)',
    )
    .option('--json', 'print the profile as JSON')
    .action(async (source: string, opts) => {
      const k = integerOption('k', opts.k, 1);
      const sampleRows = integerOption('sample-rows', opts.sampleRows, 100);
      const formatOnly = opts.formatOnly
        ? String(opts.formatOnly)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined;
      const profile = await profileSource(source, { table: opts.table, k, sampleRows, formatOnly });
      writeFileAtomically(opts.out, `${JSON.stringify(profile, null, 2)}\n`, { mkdir: true });
      if (opts.json) printJson(profile);
      else print(renderProfile(profile, opts.out));
    });

  data
    .command('generate')
    .description(
      'generate synthetic rows from a profile (Gaussian copula, deterministic per seed) and report their fidelity to it',
    )
    .requiredOption('--profile <file>', 'a profile written by `strata data profile`')
    .requiredOption('--rows <n>', 'how many rows')
    .option('--seed <n>', 'the seed: the same profile, options and seed give the same rows', '1')
    .option('--out <file>', 'write a CSV file')
    .option('--db <file>', 'write a table into a SQLite database (created if missing)')
    .option(
      '--env <layer>',
      "write the table into a provisioned layer's environment ($STRATA_HOME/envs/<layer>/data.db), only if the fidelity threshold is met",
    )
    .option('--table <name>', 'the table for --db (default: the profiled table’s name)')
    .option('--replace', 'with --db: replace the table if it exists')
    .option(
      '--label <rule>',
      "a label column from a rule, e.g. 'is_fraud ~ logistic(-4 + 2 * is_foreign)' (repeatable; see docs/data-synthesis.md)",
      collect,
      [],
    )
    .option(
      '--seasonality <x>',
      'strength of datetime hour-of-day and day-of-week patterns: 0 flat, 1 as profiled, >1 exaggerated',
      '1',
    )
    .option(
      '--missing <rate>',
      'extra missing values in every non-identifier column, on top of the profiled rates',
      '0',
    )
    .option('--noise <x>', 'numeric noise in standard deviations; share of categorical values replaced at random', '0')
    .option(
      '--drift <x>',
      'numeric mean shift (in standard deviations) reached by the last row; categorical drift likewise',
      '0',
    )
    .option(
      '--min-fidelity <x>',
      'fail (exit 1) when the overall fidelity score is below this',
      String(DEFAULT_FIDELITY_THRESHOLD),
    )
    .option('--report <file>', 'where to write the fidelity report (default: next to the output, *.fidelity.json)')
    .option('--pii-allow <n>', 'with --env: PII findings tolerated in the generated table (default 0)')
    .option('--json', 'print the result and fidelity report as JSON')
    .action(async (opts) => {
      if ([opts.out, opts.db, opts.env].filter(Boolean).length !== 1) {
        throw new UsageError('data generate: give exactly one of --out FILE.csv, --db FILE.db and --env LAYER');
      }
      if (opts.table && !opts.db && !opts.env)
        throw new UsageError('data generate: --table goes with --db or --env (a CSV file has no table)');
      if (opts.replace && !opts.db) throw new UsageError('data generate: --replace goes with --db');
      if (opts.out && /\.(db|sqlite3?)$/i.test(opts.out)) {
        throw new UsageError(
          `data generate: --out writes CSV; for a SQLite database use --db ${opts.out} --table NAME`,
        );
      }
      const rows = integerOption('rows', opts.rows, 1);
      const seed = integerOption('seed', opts.seed, Number.MIN_SAFE_INTEGER);
      const options = {
        rows,
        seed,
        seasonality: numberOption('seasonality', opts.seasonality, 0, 10),
        missingRate: numberOption('missing', opts.missing, 0, 0.99),
        noise: numberOption('noise', opts.noise, 0, 10),
        drift: numberOption('drift', opts.drift, -10, 10),
        labels: opts.label as string[],
      };
      const threshold = numberOption('min-fidelity', opts.minFidelity, 0, 1);
      const profile = loadProfile(opts.profile);
      if (opts.env) {
        await generateIntoEnvironment(String(opts.env), profile, options, threshold, opts, setExit);
        return;
      }
      const target: SynthesisTarget = opts.out
        ? { kind: 'csv', file: opts.out }
        : { kind: 'sqlite', file: opts.db, table: opts.table ?? profile.table, replace: Boolean(opts.replace) };
      const result = generateDataset(profile, options, target);
      const reportFile = opts.report ?? defaultReportFile(target);
      writeFileAtomically(reportFile, `${JSON.stringify(result.fidelity, null, 2)}\n`, { mkdir: true });
      const check = checkFidelity(result.fidelity, threshold);
      if (opts.json) printJson({ ...result, reportFile, check });
      else {
        const where = target.kind === 'csv' ? target.file : `${target.file} (table ${target.table})`;
        print(
          `generated ${result.rows} rows (seed ${seed}) from ${opts.profile} → ${where} in ${result.seconds.toFixed(2)} s`,
        );
        const labels = result.columns.filter((c) => c.rule);
        for (const c of labels) print(`label ${c.name}: ${c.rule}`);
        print(`fidelity report (against the profile, on ${result.fidelity.evaluatedRows} rows) → ${reportFile}\n`);
        print(renderFidelity(result.fidelity, threshold));
      }
      if (!check.passed) {
        process.stderr.write(
          `strata: data generate: ${check.message}; the data is kept for inspection at ${target.file}\n`,
        );
        setExit(EXIT_FAILED);
      } else setExit(EXIT_OK);
    });
}

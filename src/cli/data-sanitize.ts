import type { Command } from 'commander';
import { resolveUserPath } from '../tools/files';
import { loadPolicy, usesKeys } from '../data/masking/policy';
import { sanitize, type SanitizeReport, type SanitizeTarget } from '../data/masking/sanitize';
import { loadSettings } from '../temporal/settings';
import { print, printJson } from './context';
import { UsageError } from './errors';
import { table } from './render';

/** The `data` command group, shared with the other data commands whichever registers first. */
function dataGroup(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === 'data') ??
    program.command('data').description('the data plane: profiles, synthesis, masking, PII scanning')
  );
}

function renderReport(report: SanitizeReport): string {
  const where =
    report.target.layer !== undefined
      ? `environment ${report.target.layer} (${report.target.path}, table ${report.target.table})`
      : `${report.target.path}${report.target.table ? ` (table ${report.target.table})` : ''}`;
  const source = `${report.source.file}${report.source.table ? ` (table ${report.source.table})` : ''}`;
  const lines = [
    `sanitized ${source} → ${where}`,
    `rows read: ${report.rowsRead}, written: ${report.rowsWritten} (${(report.elapsedMs / 1000).toFixed(2)} s)`,
  ];
  if (report.key) lines.push(`key: ${report.key.name} (id ${report.key.id}) for environment ${report.key.environment}`);
  lines.push(
    '',
    table(
      ['COLUMN', 'OP', 'DETAIL'],
      report.columns.map((c) => [c.name, c.op, c.detail]),
    ),
  );
  return lines.join('\n');
}

export function registerDataSanitizeCommand(program: Command): void {
  dataGroup(program)
    .command('sanitize <source>')
    .description(
      'mask a CSV or SQLite source column by column (masking.yaml) into a file or a layer’s environment; every column must be covered',
    )
    .requiredOption('--policy <file>', 'masking.yaml: keyring, table, and an op per column')
    .option('--out <file>', 'write a .csv file or an SQLite database (.db, .sqlite, .sqlite3)')
    .option('--env <layer>', 'write the table into $STRATA_HOME/envs/<layer>/data.db (the layer must be provisioned)')
    .option(
      '--environment-key-name <name>',
      'the environment whose key pseudonymizes hmac and fake columns (default: the --env layer; required with --out)',
    )
    .option('--key <name>', 'the keyring key to derive from (default: the keyring’s active key)')
    .option('--json', 'print the report as JSON')
    .action(async (sourceFile: string, opts) => {
      if (Boolean(opts.out) === Boolean(opts.env))
        throw new UsageError('data sanitize: give exactly one of --out FILE and --env LAYER');
      const target: SanitizeTarget = opts.out
        ? { kind: 'file', path: opts.out }
        : { kind: 'env', home: loadSettings().home, layer: opts.env };
      // STRATA_KEYRING names the keyring wherever Strata runs (the seed step honours it too).
      const loaded = loadPolicy(opts.policy);
      const policy =
        process.env.STRATA_KEYRING && usesKeys(loaded)
          ? { ...loaded, keyring: resolveUserPath(process.env.STRATA_KEYRING, process.cwd()) }
          : loaded;
      const report = await sanitize({
        source: sourceFile,
        policy,
        target,
        environment: opts.environmentKeyName,
        keyName: opts.key,
      });
      if (opts.json) printJson(report);
      else print(renderReport(report));
    });
}

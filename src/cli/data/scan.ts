// `strata data scan SOURCE`: PII findings per table, column and detector in a SQLite database or a
// CSV file — counts only, never a value. Exit 0 when the total is within --allow, 1 above it, 2
// when the source or a config file cannot be used.

import type { Command } from 'commander';
import { loadDenyList, loadPatterns } from '../../data/pii/config';
import { PiiDetectors } from '../../data/pii/detectors';
import { type PiiScanReport, PiiSourceError, scanFile } from '../../data/pii/scan';
import { command } from '../command';
import { print, printJson } from '../context';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../errors';
import { table } from '../render';
import type { DataOptions } from './options';

function parseAllowance(raw: string): number {
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new UsageError(`--allow: expected a whole number of findings (0 or more), got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

const size = (bytes: number): string =>
  bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const plural = (n: number, word: string): string => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

export function renderScan(report: PiiScanReport, allow: number): string {
  const passed = report.total <= allow;
  const lines: string[] = [];
  if (report.findings.length > 0) {
    lines.push(
      table(
        ['TABLE', 'COLUMN', 'DETECTOR', 'COUNT', 'CONFIDENCE'],
        report.findings.map((f) => [
          f.table,
          f.column,
          f.detector,
          String(f.count),
          f.confidence === undefined ? '-' : f.confidence.toFixed(2),
        ]),
      ),
      '',
    );
  }
  const seconds = report.durationMs / 1000;
  const rate = seconds > 0 ? ` (${(report.bytes / 2 ** 20 / seconds).toFixed(1)} MiB/s)` : '';
  lines.push(
    `${report.total === 0 ? 'no findings' : plural(report.total, 'finding')} in ${plural(report.tables.length, 'table')} of ${report.source}; ` +
      `allowance ${allow}: ${passed ? 'pass' : 'FAIL'}`,
    `scanned ${plural(report.rows, 'row')}, ${plural(report.values, 'value')}, ${size(report.bytes)} in ${seconds.toFixed(2)} s${rate}` +
      (report.skippedBlobs > 0 ? `; ${plural(report.skippedBlobs, 'BLOB value')} not scanned` : ''),
    `detectors: ${report.detectors.join(', ')}`,
  );
  return lines.join('\n');
}

export function registerScanCommand(data: Command): void {
  command(
    data,
    'scan <source>',
    'count PII per table, column and detector in a SQLite database or a CSV file (never the values)',
  )
    .options<DataOptions['scan']>({
      allow: { argument: '<n>', description: 'findings allowed before the scan fails with exit code 1', default: '0' },
      patterns: { argument: '<file>', description: 'YAML file of extra detectors: {name: regex}' },
      denyList: { argument: '<file>', description: 'terms to find as whole words, case-insensitively: one per line' },
      json: { description: 'print JSON' },
    })
    .action(async (source, opts) => {
      const allow = parseAllowance(opts.allow);
      const detectors = new PiiDetectors({
        patterns: opts.patterns === undefined ? undefined : loadPatterns(opts.patterns),
        denyList: opts.denyList === undefined ? undefined : loadDenyList(opts.denyList),
      });
      let report: PiiScanReport;
      try {
        report = await scanFile(source, { detectors });
      } catch (err) {
        if (err instanceof PiiSourceError) throw new UsageError(err.message);
        throw err;
      }
      const passed = report.total <= allow;
      if (opts.json) printJson({ ...report, allow, passed });
      else print(renderScan(report, allow));
      return passed ? EXIT_OK : EXIT_FAILED;
    });
}

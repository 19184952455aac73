// Sanitize: source rows → policy ops → a CSV file, an SQLite table, or an environment's data.db.
//
// Everything that can be checked before a row moves is checked first (policy, coverage, keyring,
// target); then rows stream through in batches, one transaction per batch, and the output appears
// under its final name only when the last row is in. Memory holds one batch, whatever the source's
// size. The returned report holds counts and op summaries: never a value, never a key.

import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, quoteList } from '../../validation/errors';
import { type EnvironmentKeys, loadKeyring } from './keyring';
import { type Cell, type CompiledRule, compileRule, outputType, ValueRejected } from './ops';
import { checkCoverage, KEYED_OPS, loadPolicy, type MaskingPolicy, type Op, usesKeys } from './policy';
import { openCsvSink, openSqliteSink, type OutputColumn, type Sink } from './sink';
import { openSource, type Source } from './source';

export const DEFAULT_BATCH_ROWS = 5_000;
/** The `file` of errors about flags (the same label config/ladder uses, without importing the gate registry). */
const COMMAND_LINE = '<command line>';
const LAYER_NAME = /^[a-z][a-z0-9-]*$/;
const SQLITE_EXTENSIONS = ['.db', '.sqlite', '.sqlite3'];

export type SanitizeTarget =
  /** A CSV file (`.csv`) or an SQLite database (`.db`, `.sqlite`, `.sqlite3`). */
  | { kind: 'file'; path: string }
  /** The environment of a layer: `<home>/envs/<layer>/data.db`, which must already be provisioned. */
  | { kind: 'env'; home: string; layer: string };

export interface SanitizeOptions {
  /** A CSV file or an SQLite database. */
  source: string;
  /** masking.yaml, or a policy already loaded. */
  policy: string | MaskingPolicy;
  target: SanitizeTarget;
  /**
   * The environment whose key pseudonymizes (hmac) and seeds fakes. Defaults to the layer of an
   * `env` target; required for a `file` target when the policy has hmac or fake columns.
   */
  environment?: string;
  /** The keyring key to derive from; default the keyring's `active` key. */
  keyName?: string;
  batchRows?: number;
  /** Called after each batch with the rows written so far (heartbeats). Throwing aborts the run. */
  onProgress?: (rowsWritten: number) => void;
}

export class NotProvisionedError extends ConfigError {
  override name = 'NotProvisionedError';
}

export interface ColumnSummary {
  name: string;
  op: Op;
  /** The op and its options in words, e.g. `mask, keep last 4`. */
  detail: string;
}

export interface SanitizeReport {
  source: { file: string; kind: 'csv' | 'sqlite'; table?: string };
  target: { kind: 'csv' | 'sqlite'; path: string; table?: string; layer?: string };
  rowsRead: number;
  rowsWritten: number;
  /** Set when the policy has keyed ops: which environment key was used (its public id, never the key). */
  key?: { environment: string; name: string; id: string };
  columns: ColumnSummary[];
  elapsedMs: number;
}

interface ResolvedTarget {
  kind: 'csv' | 'sqlite';
  path: string;
  layer?: string;
}

function resolveTarget(target: SanitizeTarget): ResolvedTarget {
  if (target.kind === 'env') {
    if (!LAYER_NAME.test(target.layer)) {
      throw new ConfigError(COMMAND_LINE, [
        {
          path: '--env',
          message: `expected a layer name (lowercase letters, digits and -), got ${JSON.stringify(target.layer)}`,
        },
      ]);
    }
    const dir = path.join(target.home, 'envs', target.layer);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new NotProvisionedError(dir, [
        {
          path: '',
          message: `layer ${target.layer} has no environment; provision the layer first (promote a candidate into it), then sanitize into it`,
        },
      ]);
    }
    return { kind: 'sqlite', path: path.join(dir, 'data.db'), layer: target.layer };
  }
  const ext = path.extname(target.path).toLowerCase();
  if (ext === '.csv') return { kind: 'csv', path: path.resolve(target.path) };
  if (SQLITE_EXTENSIONS.includes(ext)) return { kind: 'sqlite', path: path.resolve(target.path) };
  throw new ConfigError(COMMAND_LINE, [
    {
      path: '--out',
      message: `expected a .csv file or an SQLite database (${SQLITE_EXTENSIONS.join(', ')}), got ${JSON.stringify(target.path)}`,
    },
  ]);
}

function sameFile(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

/** The environment's keys, or undefined when no column needs them. */
function environmentKeys(
  policy: MaskingPolicy,
  environment: string | undefined,
  keyName: string | undefined,
): EnvironmentKeys | undefined {
  if (!usesKeys(policy)) return undefined;
  if (environment === undefined || environment.trim() === '') {
    const keyed = [...policy.columns].filter(([, r]) => KEYED_OPS.includes(r.op)).map(([n]) => n);
    throw new ConfigError(COMMAND_LINE, [
      {
        path: '--environment-key-name',
        message: `missing; columns ${quoteList(keyed)} are keyed per environment: name the environment the output is for (or write into one with --env LAYER)`,
      },
    ]);
  }
  return loadKeyring(policy.keyring!).environmentKeys(environment, keyName);
}

/** Runs the policy over the source into the target; see the file comment. */
export async function sanitize(opts: SanitizeOptions): Promise<SanitizeReport> {
  const started = process.hrtime.bigint();
  const policy = typeof opts.policy === 'string' ? loadPolicy(opts.policy) : opts.policy;
  const target = resolveTarget(opts.target);
  const environment = opts.environment ?? target.layer;
  const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;

  const source = openSource(opts.source, policy);
  let sink: Sink | undefined;
  try {
    checkCoverage(policy, source.columns, source.label);
    if (sameFile(source.file, target.path)) {
      throw new ConfigError(COMMAND_LINE, [
        { path: '', message: `the output ${target.path} is the source itself; write somewhere else` },
      ]);
    }
    const keys = environmentKeys(policy, environment, opts.keyName);

    const kept: { name: string; rule: CompiledRule; type: string }[] = [];
    const columns: ColumnSummary[] = [];
    source.columns.forEach((name, index) => {
      const rule = policy.columns.get(name)!;
      if (rule.op === 'drop') {
        columns.push({ name, op: 'drop', detail: 'drop' });
        return;
      }
      const compiled = compileRule(rule, { keys, seed: policy.seed });
      kept.push({ name, rule: compiled, type: outputType(rule, source.declaredTypes[index]) });
      columns.push({ name, op: rule.op, detail: compiled.summary });
    });
    if (kept.length === 0) {
      throw new ConfigError(policy.file, [
        { path: 'columns', message: 'every column is dropped: there is nothing to write' },
      ]);
    }

    const outputColumns: OutputColumn[] = kept.map((k) => ({ name: k.name, type: k.type }));
    const table = policy.outputTable ?? source.table ?? csvTableName(source);
    sink =
      target.kind === 'csv'
        ? openCsvSink(target.path, outputColumns)
        : openSqliteSink(target.path, { table, columns: outputColumns, emptyIsNull: source.kind === 'csv' });

    const apply = kept.map((k) => k.rule.apply);
    let rows = 0;
    for (const { values, at } of source.rows(kept.map((k) => k.name))) {
      const out: Cell[] = new Array(apply.length);
      for (let k = 0; k < apply.length; k++) {
        try {
          out[k] = apply[k](values[k]);
        } catch (error) {
          if (!(error instanceof ValueRejected)) throw error;
          throw new ConfigError(source.file, [
            { path: '', message: `${source.locate(at)}, column "${kept[k].name}": ${error.message}` },
          ]);
        }
      }
      sink.write(out);
      if (++rows % batchRows === 0) {
        sink.flush();
        opts.onProgress?.(rows);
        // Let timers (activity heartbeats, signals) run between batches.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    sink.flush();
    if (rows % batchRows !== 0) opts.onProgress?.(rows);
    sink.commit();
    sink = undefined;

    return {
      source: { file: source.file, kind: source.kind, ...(source.table ? { table: source.table } : {}) },
      target: {
        kind: target.kind,
        path: target.path,
        ...(target.kind === 'sqlite' ? { table } : {}),
        ...(target.layer ? { layer: target.layer } : {}),
      },
      rowsRead: rows,
      rowsWritten: rows,
      ...(keys ? { key: { environment: keys.environment, name: keys.keyName, id: keys.keyId } } : {}),
      columns,
      elapsedMs: Number(process.hrtime.bigint() - started) / 1e6,
    };
  } finally {
    sink?.abort();
    source.close();
  }
}

/** `customers.csv` → `customers`; names that are no SQL identifier need `outputTable` in the policy. */
function csvTableName(source: Source): string {
  const stem = path.basename(source.file).replace(/\.[^.]*$/, '');
  const name = stem.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(name) ? name : `t_${name}`;
}

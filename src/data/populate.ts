// Populating an environment through the data plane: a layer's `data:` → rows in its environment's
// database. ("Seed" means only the random seed the rows are generated with.)
//
//   decide the data policy → check the source's digest is approved      (nothing has moved yet)
//   → generate from the profile (synthetic) and/or sanitize through the masking policy, into a
//     staging file beside the database → fidelity check (synthetic) → PII scan of every table
//   → rename the staging file over the database → record what was populated (sidecar JSON).
//
// Any refusal leaves the environment's database as it was: rows are only ever written to the
// staging file, which is removed on failure. Populating again with the same inputs (same digests,
// options and key) finds the sidecar and does nothing, so a retried activity never writes a
// second dataset.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../validation/errors';
import { decideDataPolicy, type DataPolicyDecision } from '../domain/data-policy';
import type { DataSeedSpec, LayerSpec, RealismKnobs } from '../domain/ladder';
import { describeFindings } from '../domain/data';
import { resolveUserPath, writeFileAtomically } from '../tools/files';
import { ApprovalRegistry, fileDigest } from './approvals';
import { loadKeyring } from './masking/keyring';
import { loadPolicy, type MaskingPolicy, usesKeys } from './masking/policy';
import { sanitize } from './masking/sanitize';
import { scanSqlite, type PiiFinding } from './pii/scan';
import { loadProfile } from './profile/schema';
import { checkFidelity, type FidelityReport, type FidelityThresholds } from './synth/fidelity';
import { heldOutRows } from './synth/holdout';
import { generateDataset } from './synth/output';

/** Why a population was refused; each is a non-retryable failure of the populate activity. */
export type PopulationRefusal = 'DataPolicyViolation' | 'DatasetNotApproved' | 'FidelityBelowThreshold' | 'PiiFound';

export class PopulationRefused extends Error {
  override name = 'PopulationRefused';
  constructor(
    readonly kind: PopulationRefusal,
    message: string,
    readonly report: PopulationReport,
  ) {
    super(message);
  }
}

/** What a population did, stored beside the database and returned to the workflow: counts and scores, never a value. */
export interface PopulationReport {
  layer: string;
  /** The random seed the rows were generated with (a many-seeds layer populates once per seed). */
  seed: number;
  source: {
    name: string;
    classification: string;
    file: string;
    digest?: string;
    approvedBy?: string;
    approvedAt?: string;
  };
  policy: DataPolicyDecision;
  masking?: { file: string; digest: string; keyId?: string };
  table: string;
  rows: number;
  realism: RealismKnobs;
  fidelity?: {
    overall: number;
    threshold: number;
    passed: boolean;
    /** What the rows were scored against: the profile, or held-out real rows. */
    basis?: 'profile' | 'rows';
    columnShapes: number;
    pairTrends: number | null;
    detection?: number;
    mlEfficacy?: Array<{ label: string; score: number }>;
    /** The thresholds that failed, e.g. `detection 0.412 < 0.6`. */
    failures?: string[];
    /** The lowest-scoring columns (at most 5). */
    weakest: Array<{ column: string; metric: string; score: number }>;
  };
  pii?: { allowance: number; total: number; findings: PiiFinding[]; bytes: number };
  /** sha256 over everything that determines the rows; equal fingerprints, equal data. */
  fingerprint: string;
  /** The database file as written (size and sha256): a skip trusts only a file that still matches. */
  database?: { bytes: number; sha256: string };
  /** False when the environment already held exactly this data. */
  created: boolean;
  at: string;
}

export interface PopulateOptions {
  /** $STRATA_HOME: where the approval registry lives. */
  home: string;
  layer: LayerSpec;
  /** The database the rows end up in (created or replaced). */
  dbPath: string;
  /** A different seed than the layer's (one run of a many-seeds layer). */
  seed?: number;
  /** The keyring to use (the worker's STRATA_KEYRING); default the ladder's, then the policy's. */
  keyring?: string;
  /** Called between steps (heartbeats). */
  progress?: (step: string) => void;
  /** Called as rows are generated or sanitized, with the rows written so far (heartbeat progress). */
  onRows?: (rows: number) => void;
  /**
   * The staging file, named by attempt (see activities/data.ts); default one named by this
   * process. Only the holder of the database's populate lock may write it.
   */
  staging?: string;
}

/**
 * A population made ready in its staging file and not yet in place: `commitPopulation` swaps it
 * in. Without `staging` the database already held exactly this data (nothing to swap).
 */
export interface PreparedPopulation {
  report: PopulationReport;
  staging?: string;
  fidelity?: FidelityReport;
}

/**
 * The sidecar beside a database that records what populated it. Its name predates the word
 * "populate"; it is kept so environments populated earlier are still recognised.
 */
export function populationReportPath(dbPath: string): string {
  return `${dbPath}.seed.json`;
}

export function readPopulationReport(dbPath: string): PopulationReport | undefined {
  try {
    return JSON.parse(fs.readFileSync(populationReportPath(dbPath), 'utf8')) as PopulationReport;
  } catch {
    return undefined;
  }
}

function writeJsonAtomically(file: string, value: unknown): void {
  writeFileAtomically(file, `${JSON.stringify(value, null, 2)}\n`);
}

function removeStaging(staging: string): void {
  for (const f of [
    staging,
    `${staging}-journal`,
    `${staging}-wal`,
    `${staging}-shm`,
    `${staging}.synthetic.db`,
    `${staging}.synthetic.db-journal`,
  ]) {
    fs.rmSync(f, { force: true });
  }
}

/** Loads the layer's masking policy with the table names population uses, and the keyring it resolved. */
function policyFor(data: DataSeedSpec, stagingTable: string | undefined, keyring: string | undefined): MaskingPolicy {
  const policy = loadPolicy(data.policy!);
  const resolvedKeyring = keyring ?? data.keyring ?? policy.keyring;
  return {
    ...policy,
    keyring: usesKeys(policy) ? resolvedKeyring : policy.keyring,
    table: stagingTable ?? data.source.table ?? policy.table,
    outputTable: data.table,
  };
}

/** Populates `opts.dbPath` from the layer's data source; see the file comment. Throws PopulationRefused or ConfigError. */
export async function populateFromSource(opts: PopulateOptions): Promise<PopulationReport> {
  return commitPopulation(await preparePopulation(opts), opts.dbPath);
}

/** Every step up to the swap: the rows end up in the staging file (or nothing happens when the database already holds them). */
export async function preparePopulation(opts: PopulateOptions): Promise<PreparedPopulation> {
  const { layer } = opts;
  const data = layer.data;
  if (!data) throw new Error(`layer ${layer.name} has no data: source`);
  const seed = opts.seed ?? data.seed;
  const step = opts.progress ?? (() => {});
  const fromEnv = process.env.STRATA_KEYRING;
  const keyring = opts.keyring ?? (fromEnv ? resolveUserPath(fromEnv, process.cwd()) : undefined);

  const report: PopulationReport = {
    layer: layer.name,
    seed,
    source: { name: data.source.name, classification: data.source.classification, file: data.source.file },
    policy: decideDataPolicy(layer)!,
    table: data.table,
    rows: 0,
    realism: data.realism,
    fingerprint: '',
    created: false,
    at: new Date().toISOString(),
  };

  // 1. The data policy: decided before anything is read.
  if (!report.policy.allowed) throw new PopulationRefused('DataPolicyViolation', report.policy.message, report);

  // 2. The source's digest must be approved: checked before any row moves.
  step('checking approval');
  const { digest } = await fileDigest(data.source.file);
  report.source.digest = digest;
  const approval = new ApprovalRegistry(opts.home).lookup(digest);
  if (!approval || approval.revoked) {
    const why = approval?.revoked
      ? `its approval was revoked by ${approval.revoked.actor} (${approval.revoked.reason})`
      : 'it has not been approved';
    throw new PopulationRefused(
      'DatasetNotApproved',
      `dataset not approved: layer "${layer.name}" may not seed from ${data.source.file} (sha256 ${digest.slice(0, 12)}): ${why}; ` +
        `approve it with \`strata data approve ${data.source.file} --as <you> --reason <why>\``,
      report,
    );
  }
  report.source.approvedBy = approval.actor;
  report.source.approvedAt = approval.at;

  // The real file a synthetic source is scored against must be approved too.
  let holdoutDigest: string | undefined;
  if (data.source.classification === 'synthetic' && data.source.holdout) {
    holdoutDigest = (await fileDigest(data.source.holdout)).digest;
    const real = new ApprovalRegistry(opts.home).lookup(holdoutDigest);
    if (!real || real.revoked) {
      throw new PopulationRefused(
        'DatasetNotApproved',
        `dataset not approved: layer "${layer.name}" may not score against ${data.source.holdout} (sha256 ${holdoutDigest.slice(0, 12)}): ` +
          `${real?.revoked ? `its approval was revoked by ${real.revoked.actor} (${real.revoked.reason})` : 'it has not been approved'}; ` +
          `approve it with \`strata data approve ${data.source.holdout} --as <you> --reason <why>\``,
        report,
      );
    }
  }

  let fullFidelity: FidelityReport | undefined;
  let policy: MaskingPolicy | undefined;
  let keyId: string | undefined;
  if (data.policy) {
    policy = policyFor(data, data.source.classification === 'synthetic' ? data.table : undefined, keyring);
    report.masking = { file: data.policy, digest: (await fileDigest(data.policy)).digest };
    if (usesKeys(policy)) {
      if (!policy.keyring)
        throw new ConfigError(data.policy, [
          {
            path: 'keyring',
            message: 'missing; set it in the policy, in the ladder (data.keyring) or in STRATA_KEYRING',
          },
        ]);
      keyId = loadKeyring(policy.keyring).environmentKeys(layer.name).keyId;
      report.masking.keyId = keyId;
    }
  }

  // 3. Already populated with exactly this? Then nothing to do.
  report.fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        source: digest,
        labels: data.source.labels ?? [],
        masking: report.masking ?? null,
        rows: data.rows ?? null,
        seed,
        realism: data.realism,
        table: data.table,
        fidelity: data.fidelityThreshold,
        ...(holdoutDigest ? { holdout: holdoutDigest, thresholds: data.fidelityThresholds ?? {} } : {}),
        pii: data.piiAllowance,
      }),
    )
    .digest('hex');
  const previous = readPopulationReport(opts.dbPath);
  if (previous?.fingerprint === report.fingerprint && (await databaseMatches(opts.dbPath, previous.database)))
    return { report: { ...previous, created: false } };

  // 4. Rows into a staging file beside the database.
  const dir = path.dirname(path.resolve(opts.dbPath));
  fs.mkdirSync(dir, { recursive: true });
  // The .db ending makes the sanitizer write SQLite; the name marks it as staging (and matches the
  // staging files of workers from before the word "populate", so the cleanup below finds those too).
  const staging = opts.staging ?? `${path.resolve(opts.dbPath)}.${process.pid}.seeding.db`;
  // A worker killed mid-population leaves its staging file behind (under its pid or attempt):
  // remove any. The caller holds the database's populate lock, so no other attempt writes now.
  const stale = `${path.basename(opts.dbPath)}.`;
  for (const f of fs.readdirSync(dir)) {
    if (f.startsWith(stale) && /\.[\w-]+\.seeding\.db/.test(f) && path.join(dir, f) !== staging)
      fs.rmSync(path.join(dir, f), { force: true });
  }
  try {
    if (data.source.classification === 'synthetic') {
      step('generating');
      const profile = loadProfile(data.source.file);
      const target = policy ? `${staging}.synthetic.db` : staging;
      // Real rows held out in the steward's area ($STRATA_HOME/data/holdout), never copied here.
      const real =
        data.source.holdout && holdoutDigest
          ? await heldOutRows(opts.home, data.source.holdout, holdoutDigest)
          : undefined;
      if (real) step('scoring against held-out real rows');
      const generated = generateDataset(
        profile,
        { rows: data.rows ?? profile.rows, seed, ...data.realism, labels: data.source.labels },
        { kind: 'sqlite', file: target, table: data.table, replace: true, onProgress: opts.onRows },
        undefined,
        real,
      );
      report.rows = generated.rows;
      fullFidelity = generated.fidelity;
      const thresholds = { ...data.fidelityThresholds, overall: data.fidelityThreshold };
      report.fidelity = fidelitySummary(generated.fidelity, thresholds);
      if (!report.fidelity.passed) {
        throw new PopulationRefused(
          'FidelityBelowThreshold',
          `fidelity below threshold in layer "${layer.name}": ${checkFidelity(generated.fidelity, thresholds).message}`,
          report,
        );
      }
      if (policy) {
        step('masking');
        const masked = await sanitize({
          source: target,
          policy,
          target: { kind: 'file', path: staging },
          environment: layer.name,
          onProgress: opts.onRows,
        });
        report.rows = masked.rowsWritten;
      }
    } else {
      step('sanitizing');
      const masked = await sanitize({
        source: data.source.file,
        policy: policy!,
        target: { kind: 'file', path: staging },
        environment: layer.name,
        onProgress: opts.onRows,
      });
      report.rows = masked.rowsWritten;
    }

    // 5. PII scan of every table written.
    step('scanning for PII');
    const scan = await scanSqlite(staging);
    report.pii = { allowance: data.piiAllowance, total: scan.total, findings: scan.findings, bytes: scan.bytes };
    if (scan.total > data.piiAllowance) {
      throw new PopulationRefused(
        'PiiFound',
        `PII found in the data seeded into layer "${layer.name}": ${scan.total} finding${scan.total === 1 ? '' : 's'} (allowance ${data.piiAllowance}): ${describeFindings(scan.findings)}`,
        report,
      );
    }

    fs.rmSync(`${staging}.synthetic.db`, { force: true });
    return { report, staging, ...(fullFidelity ? { fidelity: fullFidelity } : {}) };
  } catch (err) {
    removeStaging(staging);
    throw err;
  }
}

/** Size and sha256 of a database file (read in chunks: a large file is not held in memory). */
function databaseChecksum(file: string): { bytes: number; sha256: string } {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let bytes = 0;
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; bytes += n) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * Whether the database still is the one the sidecar describes: present, same size, same sha256.
 * A sidecar from before checksums trusts a present file.
 */
async function databaseMatches(dbPath: string, recorded: PopulationReport['database']): Promise<boolean> {
  if (!fs.existsSync(dbPath)) return false;
  if (!recorded) return true;
  if (fs.statSync(dbPath).size !== recorded.bytes) return false;
  return databaseChecksum(dbPath).sha256 === recorded.sha256;
}

/** Removes a prepared population's staging file without putting it in place (an attempt that may no longer write). */
export function discardPopulation(prepared: PreparedPopulation): void {
  if (prepared.staging) removeStaging(prepared.staging);
}

/** 6. The staging file in place of the database, then recorded. */
export function commitPopulation(prepared: PreparedPopulation, dbPath: string): PopulationReport {
  const { staging, fidelity } = prepared;
  if (!staging) return prepared.report;
  const report: PopulationReport = {
    ...prepared.report,
    database: databaseChecksum(staging),
    created: true,
    at: new Date().toISOString(),
  };
  try {
    fs.renameSync(staging, dbPath);
  } catch (err) {
    removeStaging(staging);
    throw err;
  }
  // The whole fidelity report (every column and pair) is kept with the environment.
  if (fidelity) writeJsonAtomically(`${dbPath}.fidelity.json`, fidelity);
  else fs.rmSync(`${dbPath}.fidelity.json`, { force: true });
  writeJsonAtomically(populationReportPath(dbPath), report);
  return report;
}

function fidelitySummary(
  report: FidelityReport,
  thresholds: Partial<FidelityThresholds> & { overall: number },
): NonNullable<PopulationReport['fidelity']> {
  const check = checkFidelity(report, thresholds);
  return {
    overall: report.overall,
    threshold: thresholds.overall,
    passed: check.passed,
    ...(report.basis === 'rows'
      ? {
          basis: 'rows' as const,
          ...(report.detection ? { detection: report.detection.score } : {}),
          ...(report.mlEfficacy
            ? { mlEfficacy: report.mlEfficacy.map((e) => ({ label: e.label, score: e.score })) }
            : {}),
          ...(check.passed ? {} : { failures: check.failures }),
        }
      : {}),
    columnShapes: report.columnShapes.score,
    pairTrends: report.pairTrends.score,
    weakest: [...report.columnShapes.columns]
      .sort((a, b) => a.score - b.score)
      .slice(0, 5)
      .map((c) => ({ column: c.column, metric: c.metric, score: c.score })),
  };
}

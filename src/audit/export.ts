// Incremental, signed exports of the audit trail into files that outlive Temporal's retention.
//
// State lives in $STRATA_HOME/audit/state.json: the chain head (last seq and the sha256 of the last
// entry line) and the keys of every entry exported so far (chain.ts, entryKey). An export writes
// the entries whose key is not there yet, chained on from the head, then records the new head and
// keys. One export at a time per home (a lock file); the file is written before the state, so a
// crash in between makes the next export start again from the old head: verify then reports the
// two files as discontinuous, and the later one holds everything.

import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Keyring } from '../data/masking/keyring';
import { writeFileAtomically } from '../tools/files';
import { acquireLockFile } from '../tools/lock-file';
import { buildExport, type ChainHead, GENESIS, keyEntries } from './chain';
import { collectAuditEntries } from './collect';
import { auditSigner } from './signing';

export function auditDir(home: string): string {
  return path.join(home, 'audit');
}

interface ExportState extends ChainHead {
  version: 1;
  /** Keys of the entries exported so far. */
  exported: string[];
  /** The files written, oldest first (names relative to the audit folder when inside it). */
  files: string[];
}

export class AuditExportError extends Error {
  override name = 'AuditExportError';
}

function statePath(home: string): string {
  return path.join(auditDir(home), 'state.json');
}

export function readExportState(home: string): ExportState {
  const file = statePath(home);
  if (!fs.existsSync(file)) return { version: 1, seq: 0, head: GENESIS, exported: [], files: [] };
  try {
    const state = JSON.parse(fs.readFileSync(file, 'utf8')) as ExportState;
    if (!Number.isInteger(state.seq) || !/^[0-9a-f]{64}$/.test(state.head) || !Array.isArray(state.exported))
      throw new Error('bad shape');
    return { ...state, files: state.files ?? [] };
  } catch {
    throw new AuditExportError(
      `${file}: not a valid export state (expected {seq, head, exported}); restore it from a backup, or move it away to start a new chain`,
    );
  }
}

export interface ExportRequest {
  client: Client;
  taskQueue: string;
  home: string;
  keyring: Keyring;
  /** Only entries at or after this time (ISO); later exports still pick up those before it. */
  since?: string;
  /** Only entries before this time (ISO). */
  until?: string;
  /** Where to write; default $STRATA_HOME/audit/audit-<time>-<first>-<last>.jsonl. Never overwritten. */
  out?: string;
  now?: Date;
}

export interface ExportSummary {
  file: string;
  entries: number;
  firstSeq: number;
  lastSeq: number;
  head: string;
  keyId: string;
}

export async function exportAuditTrail(req: ExportRequest): Promise<ExportSummary> {
  const dir = auditDir(req.home);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = acquireLockFile(
    path.join(dir, 'export.lock'),
    `export ${process.pid}`,
    (holder) => new AuditExportError(`another audit export is running (pid ${holder.pid}, since ${holder.at})`),
  );
  try {
    const state = readExportState(req.home);
    const done = new Set(state.exported);
    const keyed = keyEntries(await collectAuditEntries(req.client, req.taskQueue, req.home)).filter(
      ({ key, entry }) =>
        !done.has(key) && (!req.since || entry.at >= req.since) && (!req.until || entry.at < req.until),
    );
    const now = req.now ?? new Date();
    const signer = auditSigner(req.keyring);
    const { text, head } = buildExport(keyed, state, signer, now.toISOString());
    const stamp = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const file = path.resolve(req.out ?? path.join(dir, `audit-${stamp}-${state.seq + 1}-${head.seq}.jsonl`));
    if (fs.existsSync(file)) throw new AuditExportError(`--out: ${file} exists; an export never overwrites a file`);
    writeFileAtomically(file, text, { mode: 0o600 });
    const relative = path.relative(dir, file);
    const next: ExportState = {
      version: 1,
      seq: head.seq,
      head: head.head,
      exported: [...state.exported, ...keyed.map((k) => k.key)],
      files: [...state.files, relative.startsWith('..') ? file : relative],
    };
    writeFileAtomically(statePath(req.home), `${JSON.stringify(next)}\n`, { mode: 0o600 });
    return {
      file,
      entries: keyed.length,
      firstSeq: state.seq + 1,
      lastSeq: head.seq,
      head: head.head,
      keyId: signer.keyId,
    };
  } finally {
    lock.release();
  }
}

// The tamper-evident export format: JSONL, one RFC 8785 canonical JSON object per line, each line
// carrying the sha256 of the line before it, the file closed by an ed25519 signature over the
// chain head. Building and verifying are pure (bytes in, bytes or a report out); where the entries
// come from and where the key lives are other modules' business (export.ts, signing.ts).
//
//   {"entry":{…},"key":"<32 hex>","prev":"<64 hex>","seq":17,"type":"entry"}
//   …
//   {"alg":"ed25519","count":n,"exportedAt":"…","firstSeq":17,"keyId":"…","lastSeq":…,
//    "prev":"<sha256 of the last entry line>","publicKey":"<base64 raw 32 bytes>","sig":"<base64>",
//    "start":"<prev of the first entry line>","type":"signature"}
//
// `prev` is the sha256 (hex) of the exact bytes of the previous line (UTF-8, without its "\n");
// the first entry line's `prev` is the head the previous export ended on (64 zeros for the first
// export ever), so consecutive exports form one chain. The signature is over the canonical JSON of
// the signature line without its `sig` field: it binds the head, the seq range and the start.

import { createHash, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';

export const GENESIS = '0'.repeat(64);

/** One entry of the trail as exported: where it was read from, and the trail's own fields. */
export interface ExportedEntry {
  /** `promotion:<id>`, `drill:<id>`, `ladder:<workflow id>/<run id>`, `data-approval`, `api-refusal`, … */
  source: string;
  at: string;
  actor: string;
  authentication: string;
  action: string;
  layer: string | null;
  detail: string;
  [extra: string]: unknown;
}

export interface EntryLine {
  type: 'entry';
  seq: number;
  /** Identifies the entry across exports (see entryKey): an entry once exported is not repeated. */
  key: string;
  prev: string;
  entry: ExportedEntry;
}

export interface SignatureLine {
  type: 'signature';
  alg: 'ed25519';
  keyId: string;
  /** The signer's public key, base64 of its raw 32 bytes (verify trusts it only if it is trusted). */
  publicKey: string;
  exportedAt: string;
  /** The prev of the first entry line: the head the export continues. */
  start: string;
  firstSeq: number;
  lastSeq: number;
  count: number;
  /** The chain head: sha256 of the last entry line (= start when the export holds no entry). */
  prev: string;
  sig: string;
}

/** Where the chain stands after an export: what the next export continues. */
export interface ChainHead {
  /** The last seq handed out (0 before the first export). */
  seq: number;
  head: string;
}

export interface Signer {
  keyId: string;
  /** base64 of the raw 32-byte ed25519 public key. */
  publicKey: string;
  privateKey: KeyObject;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** RFC 8785 canonical JSON. */
export function canonical(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('cannot canonicalize an undefined value');
  return text;
}

/**
 * An entry's identity across exports: sha256 (first 32 hex digits) of the canonical JSON of
 * `[source, at, action, layer, actor, occurrence]`, where occurrence counts the earlier entries of
 * the same source with the same five values. The detail is left out on purpose: it may carry
 * links that depend on where the trail was read (STRATA_TRACE_URL).
 */
export function entryKey(entry: ExportedEntry, occurrence: number): string {
  return sha256Hex(canonical([entry.source, entry.at, entry.action, entry.layer, entry.actor, occurrence])).slice(
    0,
    32,
  );
}

/** Keys for a list of entries, counting occurrences of identical (source, at, action, layer, actor). */
export function keyEntries(entries: ExportedEntry[]): Array<{ key: string; entry: ExportedEntry }> {
  const seen = new Map<string, number>();
  return entries.map((entry) => {
    const id = canonical([entry.source, entry.at, entry.action, entry.layer, entry.actor]);
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    return { key: entryKey(entry, n), entry };
  });
}

function signatureBody(line: Omit<SignatureLine, 'sig'>): string {
  return canonical(line);
}

/** The export text (ending in "\n") of `entries`, chained on from `from`, and the new head. */
export function buildExport(
  entries: Array<{ key: string; entry: ExportedEntry }>,
  from: ChainHead,
  signer: Signer,
  exportedAt: string,
): { text: string; head: ChainHead } {
  const lines: string[] = [];
  let prev = from.head;
  let seq = from.seq;
  for (const { key, entry } of entries) {
    seq += 1;
    const line = canonical({ type: 'entry', seq, key, prev, entry } satisfies EntryLine);
    lines.push(line);
    prev = sha256Hex(line);
  }
  const body: Omit<SignatureLine, 'sig'> = {
    type: 'signature',
    alg: 'ed25519',
    keyId: signer.keyId,
    publicKey: signer.publicKey,
    exportedAt,
    start: from.head,
    firstSeq: from.seq + 1,
    lastSeq: seq,
    count: entries.length,
    prev,
  };
  const sig = edSign(null, Buffer.from(signatureBody(body), 'utf8'), signer.privateKey).toString('base64');
  lines.push(canonical({ ...body, sig } satisfies SignatureLine));
  return { text: `${lines.join('\n')}\n`, head: { seq, head: prev } };
}

// --- verification -------------------------------------------------------------------------------

/** What verify found wrong. The first problem of a file names its first bad line. */
export type ProblemKind = 'edited' | 'deleted' | 'inserted' | 'reordered' | 'truncated' | 'resigned' | 'discontinuous';

export interface Problem {
  file: string;
  /** 1-based line of the file (for deleted: the line after the gap; for truncated: the missing line). */
  line: number;
  kind: ProblemKind;
  message: string;
}

export interface FileSummary {
  file: string;
  entries: number;
  firstSeq: number | null;
  lastSeq: number | null;
  head: string | null;
  keyId: string | null;
}

export interface VerifyReport {
  ok: boolean;
  files: FileSummary[];
  problems: Problem[];
}

/** The raw 32 bytes of an ed25519 public key given as PEM (SPKI) or base64 of the raw bytes. */
export function rawPublicKey(text: string): Buffer {
  const t = text.trim();
  if (t.startsWith('-----BEGIN')) {
    const der = createPublicKey(t).export({ format: 'der', type: 'spki' });
    return Buffer.from(der.subarray(der.length - 32));
  }
  const raw = Buffer.from(t, 'base64');
  if (raw.length !== 32) throw new Error(`expected PEM or base64 of 32 raw bytes (got ${raw.length} bytes)`);
  return raw;
}

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

interface ParsedLine {
  /** 1-based line number in the file. */
  n: number;
  text: string;
  hash: string;
  entry?: EntryLine;
  signature?: SignatureLine;
}

const HEX64 = /^[0-9a-f]{64}$/;

function parseLine(n: number, text: string): ParsedLine {
  const out: ParsedLine = { n, text, hash: sha256Hex(text) };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return out;
  }
  if (!value || typeof value !== 'object') return out;
  const v = value as Record<string, unknown>;
  if (
    v.type === 'entry' &&
    Number.isInteger(v.seq) &&
    typeof v.prev === 'string' &&
    HEX64.test(v.prev) &&
    typeof v.key === 'string' &&
    v.entry !== null &&
    typeof v.entry === 'object'
  )
    out.entry = v as unknown as EntryLine;
  else if (
    v.type === 'signature' &&
    typeof v.sig === 'string' &&
    typeof v.publicKey === 'string' &&
    typeof v.prev === 'string' &&
    typeof v.start === 'string' &&
    Number.isInteger(v.firstSeq) &&
    Number.isInteger(v.lastSeq) &&
    Number.isInteger(v.count)
  )
    out.signature = v as unknown as SignatureLine;
  return out;
}

function checkSignature(s: SignatureLine, trusted: Buffer[]): { valid: boolean; trusted: boolean } {
  const { sig, ...body } = s;
  let valid = false;
  let raw: Buffer | undefined;
  try {
    raw = Buffer.from(s.publicKey, 'base64');
    valid =
      raw.length === 32 &&
      edVerify(null, Buffer.from(signatureBody(body), 'utf8'), publicKeyObject(raw), Buffer.from(sig, 'base64'));
  } catch {
    valid = false;
  }
  return { valid, trusted: raw !== undefined && trusted.some((k) => k.equals(raw)) };
}

/**
 * Checks one export file's text. `trusted`: the public keys (raw 32 bytes) a signature must be
 * made with. `continues`: the head and seq the previous file ended on, when files are checked as
 * one chain.
 */
export function verifyExportText(
  file: string,
  text: string,
  trusted: Buffer[],
  continues?: ChainHead,
): { problems: Problem[]; summary: FileSummary; head: ChainHead | undefined } {
  const problems: Problem[] = [];
  const report = (line: number, kind: ProblemKind, message: string) => problems.push({ file, line, kind, message });
  const complete = text.endsWith('\n');
  const pieces = text === '' ? [] : (complete ? text.slice(0, -1) : text).split('\n');
  const lines = pieces.map((t, i) => parseLine(i + 1, t));

  // Truncation: the file must end with a newline and with its signature line.
  let signature: SignatureLine | undefined;
  let body = lines;
  const last = lines[lines.length - 1];
  if (!complete && lines.length > 0) {
    report(lines.length, 'truncated', `the file ends inside line ${lines.length} (no final newline): truncated`);
    body = last?.signature ? lines.slice(0, -1) : lines.filter((l) => l !== last);
  } else if (last?.signature) {
    signature = last.signature;
    body = lines.slice(0, -1);
  } else {
    const misplaced = lines.find((l) => l.signature);
    if (misplaced)
      report(misplaced.n, 'reordered', `the signature line is line ${misplaced.n}, not the last line: lines reordered`);
    else
      report(
        lines.length + 1,
        'truncated',
        `the file ends at line ${lines.length} without its signature line: truncated`,
      );
  }
  body = body.filter((l) => {
    if (l.signature) return false; // reported above as misplaced
    return true;
  });

  if (signature) {
    const s = checkSignature(signature, trusted);
    const n = lines.length;
    if (!s.valid) {
      report(n, 'edited', `line ${n} (the signature line): the signature does not verify: edited`);
      signature = undefined; // its head, seq range and start are not to be trusted
    } else if (!s.trusted)
      report(
        n,
        'resigned',
        `line ${n} (the signature line): signed by key ${signature.keyId} (${signature.publicKey}), which is not a trusted key: re-signed`,
      );
  }

  chainProblems(body, signature, continues, report);
  if (!signature && last?.signature && complete) signature = last.signature; // for the summary only

  const entries = body.filter((l) => l.entry).map((l) => l.entry!);
  const head = signature
    ? { seq: signature.lastSeq, head: signature.prev }
    : entries.length > 0
      ? { seq: entries[entries.length - 1].seq, head: body[body.length - 1].hash }
      : undefined;
  problems.sort((a, b) => a.line - b.line);
  return {
    problems,
    head,
    summary: {
      file,
      entries: entries.length,
      firstSeq: signature?.firstSeq ?? entries[0]?.seq ?? null,
      lastSeq: signature?.lastSeq ?? entries[entries.length - 1]?.seq ?? null,
      head: head?.head ?? null,
      keyId: signature?.keyId ?? null,
    },
  };
}

/**
 * The chain links of the entry lines: link i joins line i to what comes before it (the start for
 * the first), link m (m = number of lines) joins the signature's head to the last line. A broken
 * link is explained by the one tampering that produces it: a line inserted (the chain skips it), a
 * line moved (a link points forward), lines deleted (a gap in the seq numbers) or a line edited
 * (its hash changed; or its own prev, then the link after it breaks too).
 */
function chainProblems(
  body: ParsedLine[],
  signature: SignatureLine | undefined,
  continues: ChainHead | undefined,
  report: (line: number, kind: ProblemKind, message: string) => void,
): void {
  const m = body.length;
  const start = signature?.start ?? continues?.head ?? body[0]?.entry?.prev ?? GENESIS;
  const firstSeq = signature?.firstSeq ?? (continues ? continues.seq + 1 : (body[0]?.entry?.seq ?? 1));
  if (continues && signature && (signature.start !== continues.head || signature.firstSeq !== continues.seq + 1)) {
    report(
      1,
      'discontinuous',
      `does not continue the previous file (which ended at seq ${continues.seq}, head ${continues.head.slice(0, 12)}…; this one starts at seq ${signature.firstSeq}, from ${signature.start.slice(0, 12)}…): an export is missing or out of order`,
    );
  }
  const hashAt = (i: number) => (i < 0 ? start : body[i].hash);
  const target = (i: number): string | undefined => (i === m ? signature?.prev : body[i].entry?.prev);
  const seqOf = (i: number): number =>
    i < 0 ? firstSeq - 1 : i === m ? (signature ? signature.lastSeq + 1 : NaN) : (body[i].entry?.seq ?? NaN);
  const lineNo = (i: number) => (i === m ? (body[m - 1]?.n ?? 0) + 1 : body[i].n);
  const index = new Map<string, number>();
  index.set(start, -1);
  body.forEach((l, i) => {
    if (!index.has(l.hash)) index.set(l.hash, i);
  });
  const broken = (i: number) => {
    if (i === m && !signature) return false;
    return target(i) !== hashAt(i - 1);
  };
  const explained = new Set<number>();
  const reported = new Set<number>();
  const flag = (i: number, kind: ProblemKind, message: string) => {
    if (reported.has(i)) return;
    reported.add(i);
    report(lineNo(i), kind, message);
  };
  const describe = (i: number) => `line ${lineNo(i)}${body[i]?.entry ? ` (seq ${body[i].entry!.seq})` : ''}`;

  for (let i = 0; i <= m; i++) {
    if (!broken(i) || explained.has(i)) continue;
    const t = target(i);
    const j = t === undefined ? undefined : index.get(t);
    if (j !== undefined && j > i - 1 && i < m) {
      // Points at a line further down: lines were moved. Name every line out of its seq order.
      const seqs = body.map((l) => l.entry?.seq ?? NaN);
      const sorted = [...seqs].sort((a, b) => a - b);
      const moved = seqs.map((s, k) => (s !== sorted[k] ? k : -1)).filter((k) => k >= 0);
      const lo = Math.min(i, ...moved);
      const hi = Math.max(i, ...moved);
      for (const k of moved.length > 0 ? moved : [i]) flag(k, 'reordered', `${describe(k)} is out of order: reordered`);
      for (let k = lo; k <= hi + 1; k++) explained.add(k);
      continue;
    }
    if (j !== undefined && j < i - 1) {
      // The chain skips lines j+1 … i-1: they were not in it when it was signed.
      for (let k = j + 1; k < i; k++) flag(k, 'inserted', `${describe(k)} is not part of the chain: inserted`);
      continue;
    }
    // Matches no line.
    if (i < m && target(i + 1) === hashAt(i - 1)) {
      flag(i, 'inserted', `${describe(i)} is not part of the chain: inserted`);
      explained.add(i + 1);
      continue;
    }
    if (i < m && broken(i + 1) && (target(i + 1) === undefined || !index.has(target(i + 1)!))) {
      flag(i, 'edited', `${describe(i)} was changed (its prev no longer matches): edited`);
      explained.add(i + 1);
      continue;
    }
    const before = seqOf(i - 1);
    const after = seqOf(i);
    const beforeConsistent = i - 1 < 0 || seqOf(i - 1) === seqOf(i - 2) + 1;
    if (after - before > 1 && beforeConsistent) {
      const from = before + 1;
      const to = after - 1;
      flag(
        i,
        'deleted',
        `${to > from ? `seq ${from}–${to} (${to - from + 1} lines)` : `seq ${from}`} missing before ${i === m ? 'the signature line' : describe(i)}: deleted`,
      );
      continue;
    }
    if (i === 0) {
      flag(i, 'edited', `${describe(i)} does not start from the export's start: edited`);
      continue;
    }
    flag(i - 1, 'edited', `${describe(i - 1)} was changed (its sha256 no longer matches the next line's prev): edited`);
  }
}

/** Verifies export files in order, as one chain. */
export function verifyExports(files: Array<{ file: string; text: string }>, trusted: Buffer[]): VerifyReport {
  const problems: Problem[] = [];
  const summaries: FileSummary[] = [];
  let continues: ChainHead | undefined;
  for (const f of files) {
    const r = verifyExportText(f.file, f.text, trusted, continues);
    problems.push(...r.problems);
    summaries.push(r.summary);
    continues = r.head;
  }
  return { ok: problems.length === 0, files: summaries, problems };
}

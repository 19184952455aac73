// The writer's acknowledgement log: one line per attempt, kept outside the database so it survives
// the database's loss. Format (tab-separated):
//   <seq>\t<ISO time>            a write committed and acknowledged
//   <seq>\tERR\t<message>        a write attempt that failed (the writer retries the same seq)
//   #\t<event>\t<ISO time>\t…    the writer's own events (start, stop)
// A line without its trailing newline is a write in progress and is ignored.

import fs from 'node:fs';
import type { DrillWriteAck, DrillWriterSummary } from '../domain/drill';

export type WriteAck = DrillWriteAck;
export type WriterSummary = DrillWriterSummary;

export interface AckLog {
  acks: WriteAck[];
  errors: Array<{ seq: number; message: string }>;
  events: Array<{ event: string; at: string; detail: string[] }>;
}

export function parseAckLog(text: string): AckLog {
  const log: AckLog = { acks: [], errors: [], events: [] };
  const end = text.lastIndexOf('\n');
  if (end < 0) return log;
  for (const line of text.slice(0, end).split('\n')) {
    if (line === '') continue;
    const fields = line.split('\t');
    if (fields[0] === '#') {
      log.events.push({ event: fields[1] ?? '', at: fields[2] ?? '', detail: fields.slice(3) });
      continue;
    }
    const seq = Number(fields[0]);
    if (!Number.isSafeInteger(seq)) continue;
    if (fields[1] === 'ERR') log.errors.push({ seq, message: fields.slice(2).join('\t') });
    else if (fields[1] && !Number.isNaN(Date.parse(fields[1]))) log.acks.push({ seq, at: fields[1] });
  }
  return log;
}

export function readAckLog(logFile: string): AckLog {
  try {
    return parseAckLog(fs.readFileSync(logFile, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { acks: [], errors: [], events: [] };
    throw err;
  }
}

/** The acknowledged writes in the log, in the order they were acknowledged. */
export function readAcks(logFile: string): WriteAck[] {
  return readAckLog(logFile).acks;
}

export function summarizeAckLog(log: AckLog): WriterSummary {
  const last = log.acks.at(-1) ?? null;
  return {
    acknowledged: log.acks.length,
    lastSeq: last?.seq ?? null,
    lastAt: last?.at ?? null,
    errors: log.errors.length,
  };
}

/** Highest acknowledged seq in the log; 0 for a log without acknowledgements. */
export function maxAckedSeq(log: AckLog): number {
  let max = 0;
  for (const a of log.acks) max = Math.max(max, a.seq);
  return max;
}

/** Tabs and newlines would break the line format. */
export function logSafe(text: string): string {
  return text.replace(/[\t\r\n]+/g, ' ');
}

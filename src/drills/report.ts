// The drill report, as JSON (for machines and `drill history`) and Markdown (for people).

import fs from 'node:fs';
import path from 'node:path';
import { type DrillReport, type DrillTimeline, type DrillVerdict, restoresBackup } from '../domain/drill';

export type { DrillReport };

/** "180 ms", "2.3 s", "60 s", "4.5 min", "2 h". */
export function formatMs(ms: number): string {
  const trim = (x: number): string => String(Math.round(x * 10) / 10);
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 120_000) return `${trim(ms / 1000)} s`;
  if (abs < 7_200_000) return `${trim(ms / 60_000)} min`;
  return `${trim(ms / 3_600_000)} h`;
}

/** "RTO 2.3 s ≤ 60 s — met; RPO 180 ms ≤ 5 s — met". */
export function verdictLine(verdict: DrillVerdict): string {
  const part = (name: string, v: DrillVerdict['rto']): string =>
    `${name} ${formatMs(v.measuredMs)} ${v.met ? '≤' : '>'} ${formatMs(v.objectiveMs)} — ${v.met ? 'met' : 'breached'}`;
  return `${part('RTO', verdict.rto)}; ${part('RPO', verdict.rpo)}`;
}

const TIMELINE_STEPS: Array<[keyof DrillTimeline, string]> = [
  ['startedAt', 'started'],
  ['steadyStateAt', 'steady state confirmed'],
  ['backupAt', 'backup taken'],
  ['injectedAt', 'fault injected'],
  ['detectedAt', 'fault detected'],
  ['recoveredAt', 'recovered (runbook done)'],
  ['verifiedAt', 'healthy and verified'],
];

function relative(ms: number): string {
  if (ms === 0) return '0';
  return `${ms > 0 ? '+' : '−'}${formatMs(Math.abs(ms))}`;
}

/** Markdown table cells must not contain pipes or newlines. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
}

function markdown(r: DrillReport): string {
  const injected = Date.parse(r.timeline.injectedAt);
  const v = r.evidence.verification;
  const w = r.evidence.writer;
  const lines: string[] = [];
  lines.push(`# DR drill ${r.id}: ${r.scenario} in ${r.layer} — ${r.verdict.met ? 'PASSED' : 'FAILED'}`);
  lines.push('');
  lines.push(`**${verdictLine(r.verdict)}**`);
  lines.push('');
  if (r.candidate)
    lines.push(
      `- candidate: ${r.candidate.name} ${r.candidate.version}${r.candidate.digest ? ` (${r.candidate.digest.slice(0, 12)})` : ''}`,
    );
  lines.push(`- objective: RTO ${r.objective.rto}, RPO ${r.objective.rpo}`);
  lines.push(
    `- measured: RTO ${formatMs(r.measurement.rtoMs)} (injection → healthy and verified), RPO ${formatMs(r.measurement.rpoMs)}, ${r.measurement.writesLost} acknowledged write(s) lost`,
  );
  lines.push(
    `- recovery point: ${v.lastPresentAfterRecovery ? `write #${v.lastPresentAfterRecovery.seq} acknowledged at ${v.lastPresentAfterRecovery.at}` : 'no write acknowledged before the injection survived'}${v.lastAckBeforeInjection ? `; last write acknowledged before the injection: #${v.lastAckBeforeInjection.seq} at ${v.lastAckBeforeInjection.at}` : ''}`,
  );
  lines.push('');
  lines.push('## Timeline');
  lines.push('');
  lines.push('| step | time | from injection |');
  lines.push('|---|---|---|');
  for (const [key, label] of TIMELINE_STEPS) {
    const at = r.timeline[key];
    lines.push(`| ${label} | ${at} | ${relative(Date.parse(at) - injected)} |`);
  }
  lines.push('');
  lines.push('## Evidence');
  lines.push('');
  lines.push(
    `- steady state: ${r.evidence.steadyState.length ? r.evidence.steadyState.map(cell).join('; ') : 'healthy'}`,
  );
  lines.push(
    `- backup: ${r.backup.file} at ${r.backup.at}, ${r.backup.bytes} bytes, last drill write ${r.backup.lastWriteSeq === null ? 'none' : `#${r.backup.lastWriteSeq}`}${restoresBackup(r.scenario) ? '' : ` (not restored: ${r.scenario} recovers without it)`}`,
  );
  for (const [table, t] of Object.entries(r.backup.tables))
    lines.push(`  - ${table}: ${t.rows} rows, sha256 ${t.checksum.slice(0, 16)}…`);
  lines.push(`- injection: ${r.evidence.injection.detail}`);
  lines.push(`- detected: ${r.evidence.detected.length ? r.evidence.detected.join('; ') : '(nothing reported)'}`);
  lines.push(`- recovery: ${r.evidence.recovery.length ? r.evidence.recovery.join('; ') : '(no steps)'}`);
  lines.push(
    `- verification: ${v.ok ? 'ok' : 'FAILED'} — ${v.tablesChecked.length ? `${v.tablesChecked.join(', ')} equal to the pre-fault snapshot` : 'no tables checked'}${v.problems.length ? `; problems: ${v.problems.join('; ')}` : ''}`,
  );
  lines.push(
    `- writes: ${w.acknowledged} acknowledged (last #${w.lastSeq ?? '—'}), ${w.errors} failed attempts; lost: ${v.writesLost} acknowledged before the injection, ${v.writesLostAfterInjection} after it`,
  );
  lines.push('');
  return lines.join('\n');
}

export function renderDrillReport(report: DrillReport): { json: string; markdown: string } {
  return { json: `${JSON.stringify(report, null, 2)}\n`, markdown: markdown(report) };
}

/**
 * Writes <dir>/<id>.json and <dir>/<id>.md (each under a temporary name, then renamed). Writing
 * the same report again replaces the files with identical content.
 */
export function saveDrillReport(dir: string, report: DrillReport): { jsonFile: string; markdownFile: string } {
  fs.mkdirSync(dir, { recursive: true });
  const base = report.id.replace(/[^A-Za-z0-9._-]+/g, '_');
  const { json, markdown: md } = renderDrillReport(report);
  const jsonFile = path.join(dir, `${base}.json`);
  const markdownFile = path.join(dir, `${base}.md`);
  for (const [file, text] of [
    [jsonFile, json],
    [markdownFile, md],
  ] as const) {
    fs.writeFileSync(`${file}.tmp`, text);
    fs.renameSync(`${file}.tmp`, file);
  }
  return { jsonFile, markdownFile };
}

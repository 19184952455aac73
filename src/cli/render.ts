import type { AuditEntry } from '../audit/trail';
import { describeData } from '../domain/data';
import { isTerminal, type PromotionStatus } from '../domain/status';
import { traceLink } from '../tracing/settings';
import type { PromotionSummary } from '../temporal/promotions';
import type { LayerTimings } from '../temporal/timings';

/** Left-aligned columns; the widest cell sets each column's width. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function renderStatus(s: PromotionStatus, env: NodeJS.ProcessEnv = process.env): string {
  const out: string[] = [];
  out.push(`promotion ${s.id}: ${s.state}${s.reason ? ` — ${s.reason}` : ''}`);
  out.push(
    `candidate ${s.candidate.name} ${s.candidate.version} (sha256 ${s.candidate.digest.slice(0, 12)}), started by ${s.initiator}`,
  );
  if (s.ladder)
    out.push(`ladder ${s.ladder.name} version ${s.ladder.version} (sha256 ${s.ladder.digest.slice(0, 12)})`);
  out.push('');
  out.push(
    table(
      ['LAYER', 'PHASE', 'RUNNING', 'GATES', 'APPROVALS'],
      s.layers.map((l) => {
        const passed = l.gates.filter((g) => g.passed).length;
        const gates = l.gates.length === 0 ? '-' : `${passed}/${l.gates.length} passed`;
        const granted = new Set(l.approvals.filter((a) => a.decision === 'approve').map((a) => a.actor));
        const approvals =
          l.approval.required === 0
            ? 'auto'
            : `${granted.size}/${l.approval.required} of ${l.approval.allowed.join(', ')}` +
              (l.approval.escalated ? ' (escalated)' : '') +
              (l.phase === 'awaiting-approval' && !isTerminal(s.state) ? '  ← pending' : '');
        return [l.name, l.phase, l.running ?? '-', gates, approvals];
      }),
    ),
  );
  const gateRows = s.layers.flatMap((l) =>
    l.gates.map((g) => [
      l.name,
      g.name,
      g.passed ? 'pass' : 'FAIL',
      g.value === null ? '-' : `${g.value}${g.unit ? ` ${g.unit}` : ''}`,
      g.threshold === null ? '-' : String(g.threshold),
      g.detail,
    ]),
  );
  if (gateRows.length > 0) {
    out.push('');
    out.push(table(['LAYER', 'GATE', 'RESULT', 'VALUE', 'THRESHOLD', 'DETAIL'], gateRows));
  }
  // Checks inside gates (expectations, schema rules, seeds), each with its verdict.
  const checkRows = s.layers.flatMap((l) =>
    l.gates.flatMap((g) =>
      (g.checks ?? []).map((c) => [l.name, g.name, c.name, c.passed ? 'pass' : 'FAIL', c.observed]),
    ),
  );
  if (checkRows.length > 0) {
    out.push('');
    out.push(table(['LAYER', 'GATE', 'CHECK', 'RESULT', 'OBSERVED'], checkRows));
  }
  const dataRows = s.layers.filter((l) => l.data).map((l) => `${l.name}: ${describeData(l.data!)}`);
  if (dataRows.length > 0) out.push('', 'data:', ...dataRows.map((r) => `  ${r}`));
  const decisions = s.layers.flatMap((l) => l.approvals.map((a) => [l.name, a.decision, a.actor, a.at, a.reason]));
  if (decisions.length > 0) {
    out.push('');
    out.push(table(['LAYER', 'DECISION', 'BY', 'AT', 'REASON'], decisions));
  }
  // Each layer's trace, with a link to the trace UI when STRATA_TRACE_URL names one.
  const traced = s.layers.filter((l) => l.traceId);
  if (traced.length > 0) {
    out.push('');
    out.push(
      table(
        ['LAYER', 'TRACE', 'LINK'],
        traced.map((l) => [l.name, l.traceId!, traceLink(l.traceId, env) ?? '-']),
      ),
    );
  }
  for (const l of s.layers.filter((x) => x.phase === 'waiting-for-lease')) {
    out.push(
      `\n${l.name}: waiting for the lease, held by ${l.lease ? `${l.lease.kind} ${l.lease.holder} since ${l.lease.since}` : 'nobody (being granted)'}`,
    );
  }
  for (const l of s.layers.filter((x) => x.failure)) out.push(`\n${l.name}: ${l.failure}`);
  return out.join('\n');
}

export function renderList(rows: PromotionSummary[]): string {
  if (rows.length === 0) return 'no promotions';
  return table(
    ['ID', 'CANDIDATE', 'VERSION', 'LAYER', 'PHASE', 'STARTED'],
    rows.map((r) => [r.id, r.candidate, r.version, r.layer, r.phase, r.startTime]),
  );
}

const TIMED_PHASES: readonly [string, string][] = [
  ['waiting-for-lease', 'LEASE'],
  ['provisioning', 'PROVISION'],
  ['seeding', 'SEED'],
  ['deploying', 'DEPLOY'],
  ['testing', 'GATES'],
  ['awaiting-approval', 'APPROVAL WAIT'],
];

/** Milliseconds under a second, else seconds with one decimal; a step the layer never reached is a dash. */
function seconds(ms: number | undefined): string {
  if (ms === undefined) return '–';
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** Per layer: time in each step, the total, and each gate's own time on the line below. */
export function renderTimings(rows: LayerTimings[]): string {
  if (rows.length === 0) return 'no layer timings (the layers ran before layers had their own workflows)';
  const lines: string[][] = [];
  for (const r of rows) {
    lines.push([r.layer, ...TIMED_PHASES.map(([phase]) => seconds(r.phases[phase])), seconds(r.totalMs)]);
    if (r.gates.length > 0) lines.push(['', `gates: ${r.gates.map((g) => `${g.name} ${seconds(g.ms)}`).join(', ')}`]);
  }
  const header = ['LAYER', ...TIMED_PHASES.map(([, label]) => label), 'TOTAL'];
  // Gate lines span the row: render them after the table's own columns.
  const body = table(
    header,
    lines.filter((l) => l.length > 2),
  ).split('\n');
  const out: string[] = [body[0]];
  let row = 1;
  for (const l of lines) out.push(l.length > 2 ? body[row++] : `  ${l[1]}`);
  return out.join('\n');
}

export function renderAudit(entries: AuditEntry[]): string {
  return table(
    ['TIME', 'ACTOR', 'ACTION', 'LAYER', 'DETAIL'],
    entries.map((e) => [
      e.at,
      e.authentication === 'system' ? e.actor : `${e.actor} (${e.authentication})`,
      e.action,
      e.layer ?? '-',
      e.detail,
    ]),
  );
}

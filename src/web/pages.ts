// The pages of the web inbox, as server-rendered HTML. Every control has a label; forms are plain
// forms that work without script (web.js only refreshes the live regions).

import type { AuditEntry } from '../audit/trail';
import { describeData, type DataSummary } from '../domain/data';
import type { GateResult, PromotionStatus } from '../domain/status';
import { latencyChart } from './chart';
import type { ApprovalView, KnownGood } from './evidence-view';
import { html, humanDuration, raw, type Raw, time } from './html';
import type { PendingApproval } from './pending';

export const PAGE_SIZE = 50;

const enc = encodeURIComponent;
export const approvalPath = (id: string, layer: string) => `/ui/approvals/${enc(id)}/${enc(layer)}`;
export const timelinePath = (id: string) => `/ui/promotions/${enc(id)}`;

export function signInPage(opts: { configured: boolean; error?: string; returnTo: string }): Raw {
  return html`<h1>Sign in</h1>
    ${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
    ${
      opts.configured
        ? html`<p>Approvers sign in with the organisation's identity provider.</p>
            <p><a class="button" href="/ui/login?return=${enc(opts.returnTo)}">Sign in with OpenID Connect</a></p>`
        : html`<p class="error" role="alert">
            Sign-in is not configured: set <code>oidc.webClientId</code> in access.yaml (see docs/web.md).
          </p>`
    }`;
}

export function errorBody(title: string, message: string): Raw {
  return html`<h1>${title}</h1>
    <p class="error" role="alert">${message}</p>
    <p><a href="/">Back to the inbox</a></p>`;
}

// --- inbox -------------------------------------------------------------------------------------

export function inboxPage(items: PendingApproval[], pageNo: number, now: number): Raw {
  return html`<h1>Approvals waiting for you</h1>
    <div id="inbox" data-live="/ui/inbox.frag?page=${pageNo}" aria-live="polite">
      ${inboxFragment(items, pageNo, now)}
    </div>`;
}

export function inboxFragment(items: PendingApproval[], pageNo: number, now: number): Raw {
  if (items.length === 0) return html`<p class="empty">Nothing waits for your approval.</p>`;
  const pages = Math.max(1, Math.ceil(items.length / PAGE_SIZE));
  const p = Math.min(Math.max(1, pageNo), pages);
  const shown = items.slice((p - 1) * PAGE_SIZE, p * PAGE_SIZE);
  const rows = shown.map((a) => {
    const left = a.expiresAt ? Date.parse(a.expiresAt) - now : null;
    return html`<tr>
      <td><a href="${approvalPath(a.promotionId, a.layer)}">${a.candidate} ${a.version}</a></td>
      <td>${a.layer}</td>
      <td><a href="${timelinePath(a.promotionId)}">${a.promotionId}</a></td>
      <td>${a.initiator}</td>
      <td>${time(a.since)} <span class="age">(${humanDuration(now - Date.parse(a.since))} ago)</span></td>
      <td>
        ${
          a.expiresAt
            ? html`${time(a.expiresAt)}
                <span class="${left !== null && left < 3600_000 ? 'soon' : 'age'}"
                  >(${left !== null && left <= 0 ? 'expired' : `in ${humanDuration(left ?? 0)}`})</span
                >`
            : 'never'
        }
      </td>
      <td>${a.required}</td>
    </tr>`;
  });
  const nav =
    pages > 1
      ? html`<nav class="pages" aria-label="Pages">
          ${p > 1 ? html`<a href="/?page=${p - 1}" rel="prev">Previous</a>` : ''}
          <span>page ${p} of ${pages}</span>${p < pages ? html`<a href="/?page=${p + 1}" rel="next">Next</a>` : ''}
        </nav>`
      : '';
  return html`<p>
      ${items.length} waiting, oldest first; showing ${(p - 1) * PAGE_SIZE + 1}–${(p - 1) * PAGE_SIZE + shown.length}.
    </p>
    <table class="inbox">
      <caption class="sr-only">
        Pending approvals
      </caption>
      <thead>
        <tr>
          <th scope="col">Candidate</th>
          <th scope="col">Layer</th>
          <th scope="col">Promotion</th>
          <th scope="col">Started by</th>
          <th scope="col">Waiting since</th>
          <th scope="col">Expires</th>
          <th scope="col">Approvals needed</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
    ${nav}`;
}

// --- approval ----------------------------------------------------------------------------------

function figure(v: number | null | undefined, unit?: string): string {
  if (v === null || v === undefined) return '—';
  const n = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);
  return unit ? `${n} ${unit}` : n;
}

function gateRows(gates: GateResult[], knownGood: KnownGood | null): Raw[] {
  return gates.map((g) => {
    const before = knownGood?.gates.find((k) => k.name === g.name);
    const delta =
      before && before.value !== null && g.value !== null
        ? `${g.value - before.value >= 0 ? '+' : ''}${figure(g.value - before.value, g.unit)}`
        : null;
    return html`<tr>
      <th scope="row">${g.name}${g.type !== g.name ? html` <span class="muted">(${g.type})</span>` : ''}</th>
      <td class="num">${figure(g.value, g.unit)}</td>
      <td class="num">${figure(g.threshold, g.unit)}</td>
      <td><span class="verdict ${g.passed ? 'pass' : 'fail'}">${g.passed ? 'passed' : 'failed'}</span></td>
      <td class="num">${before ? figure(before.value, before.unit) : '—'}</td>
      <td class="num">${delta ?? '—'}</td>
      <td class="detail">${g.detail}</td>
    </tr>`;
  });
}

function dataSection(d: DataSummary | undefined): Raw {
  if (!d) return html`<p class="muted">This layer has no data plane (no data summary).</p>`;
  return html`<dl class="facts">
      <dt>Source</dt>
      <dd>
        ${d.classification} source
        <code>${d.source}</code
        >${d.digest ? html` (sha256 <code>${d.digest.slice(0, 12)}</code>${d.approvedBy ? `, approved by ${d.approvedBy}` : ''})` : ''}
      </dd>
      <dt>Policy decision</dt>
      <dd>
        <span class="verdict ${d.policy.allowed ? 'pass' : 'fail'}">${d.policy.allowed ? 'allowed' : 'refused'}</span>
        by rule <code>${d.policy.rule}</code>${d.masking ? html`; masked by <code>${d.masking}</code>` : ''}
      </dd>
      <dt>Fidelity</dt>
      <dd>
        ${d.fidelity ? html`<span class="verdict ${d.fidelity.passed ? 'pass' : 'fail'}">${d.fidelity.overall.toFixed(3)}</span> (threshold ${d.fidelity.threshold})` : 'not measured'}
      </dd>
      <dt>PII scan</dt>
      <dd>
        ${d.pii ? html`<span class="verdict ${d.pii.total <= d.pii.allowance ? 'pass' : 'fail'}">${d.pii.total} finding${d.pii.total === 1 ? '' : 's'}</span> (allowance ${d.pii.allowance})${d.pii.findings.map((f) => html`<br /><code>${f.table}.${f.column}</code> ${f.detector} ×${f.count}`)}` : 'not scanned'}
      </dd>
      <dt>Rows</dt>
      <dd>
        ${d.rows} rows of <code>${d.table}</code>, seed
        ${d.seed}${d.refused ? html` — <strong>refused: ${d.refused}</strong>` : ''}
      </dd>
    </dl>
    <p class="muted">${describeData(d)}</p>`;
}

export interface DecisionState {
  /** Why this person may not decide here (the initiator, not an approver, not waiting), or null. */
  cannot: string | null;
  csrf: string;
}

export function approvalPage(v: ApprovalView, decision: DecisionState, notice?: { ok: boolean; text: string }): Raw {
  const { status, layer } = v;
  const gateThreshold = (name: string) => layer.gates.find((g) => g.name === name)?.threshold ?? null;
  return html`<h1>${status.candidate.name} ${status.candidate.version} → ${layer.name}</h1>
    ${notice ? html`<p class="${notice.ok ? 'ok' : 'error'}" role="${notice.ok ? 'status' : 'alert'}">${notice.text}</p>` : ''}
    <div
      id="state"
      data-live="${approvalPath(status.id, layer.name)}/state.frag?digest=${v.evidence.digest}"
      aria-live="polite"
    >
      ${approvalState(v, v.evidence.digest)}
    </div>

    <section aria-labelledby="gates-h">
      <h2 id="gates-h">Gates</h2>
      <table class="gates">
        <thead>
          <tr>
            <th scope="col">Gate</th>
            <th scope="col">Value</th>
            <th scope="col">Threshold</th>
            <th scope="col">Verdict</th>
            <th scope="col">Known-good ${v.knownGood ? v.knownGood.version : ''}</th>
            <th scope="col">Delta</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          ${gateRows(layer.gates, v.knownGood)}
        </tbody>
      </table>
      ${v.knownGood ? '' : html`<p class="muted">No known-good version in this layer yet: no deltas.</p>`}
    </section>

    <section aria-labelledby="data-h">
      <h2 id="data-h">Data</h2>
      ${dataSection(layer.data)}
    </section>

    <section aria-labelledby="lat-h">
      <h2 id="lat-h">Latency over time</h2>
      ${v.runs.length === 0 ? html`<p class="muted">No load or chaos run in this layer's gates.</p>` : v.runs.map((r) => raw(latencyChart(r, gateThreshold(r.gate))))}
    </section>

    <section aria-labelledby="cand-h">
      <h2 id="cand-h">Candidate against known-good</h2>
      <table class="compare">
        <thead>
          <tr>
            <th scope="col"></th>
            <th scope="col">Version</th>
            <th scope="col">Digest (sha256)</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">Candidate</th>
            <td>${status.candidate.version}</td>
            <td><code>${status.candidate.digest}</code></td>
          </tr>
          <tr>
            <th scope="row">Known-good</th>
            <td>${v.knownGood?.version ?? '—'}</td>
            <td>
              ${v.knownGood ? html`<code>${v.knownGood.digest}</code> <span class="muted">(promoted by <a href="${timelinePath(v.knownGood.promotionId)}">${v.knownGood.promotionId}</a>)</span>` : 'none yet'}
            </td>
          </tr>
        </tbody>
      </table>
      ${
        v.changedFiles
          ? html`<h3>Changed files</h3>
              <ul class="files">
                ${[
                  ...v.changedFiles.changed.map(
                    (f) => html`<li><span class="tag">changed</span> <code>${f}</code></li>`,
                  ),
                  ...v.changedFiles.added.map((f) => html`<li><span class="tag">added</span> <code>${f}</code></li>`),
                  ...v.changedFiles.removed.map(
                    (f) => html`<li><span class="tag">removed</span> <code>${f}</code></li>`,
                  ),
                ]}
              </ul>`
          : ''
      }
    </section>

    <section aria-labelledby="drill-h">
      <h2 id="drill-h">Last DR drill</h2>
      ${
        v.lastDrill
          ? html`<p>
              <span
                class="verdict ${v.lastDrill.phase === 'met' ? 'pass' : v.lastDrill.phase === 'running' ? '' : 'fail'}"
                >${v.lastDrill.phase}</span
              >
              ${v.lastDrill.scenario} at ${time(v.lastDrill.startTime)}; RTO ${v.lastDrill.rtoMs ?? '—'} ms, RPO
              ${v.lastDrill.rpoMs ?? '—'} ms
            </p>`
          : html`<p class="muted">No drill of this layer yet.</p>`
      }
    </section>
    ${
      v.problems.length
        ? html`<section>
            <h2>Not shown</h2>
            <ul>
              ${v.problems.map((p) => html`<li>${p}</li>`)}
            </ul>
          </section>`
        : ''
    }

    <section aria-labelledby="decide-h">
      <h2 id="decide-h">Decision</h2>
      ${
        decision.cannot
          ? html`<p class="muted" id="cannot">${decision.cannot}</p>`
          : html`<form method="post" action="${approvalPath(status.id, layer.name)}/decide" class="decide">
              <p>
                Evidence sha256 <code>${v.evidence.digest}</code>: your decision is recorded against it, and refused if
                the evidence changed since.
              </p>
              <input type="hidden" name="csrf" value="${decision.csrf}" />
              <input type="hidden" name="digest" value="${v.evidence.digest}" />
              <input type="hidden" name="parts" value="${JSON.stringify(v.evidence.parts)}" />
              <label for="reason">Reason (required, recorded with your decision)</label>
              <textarea id="reason" name="reason" required rows="3"></textarea>
              <div class="buttons">
                <button type="submit" name="decision" value="approve" class="approve">Approve</button>
                <button type="submit" name="decision" value="reject" class="reject">Reject</button>
              </div>
            </form>`
      }
    </section>`;
}

/** The live part of the approval page: phase, approvals so far, whether the evidence is still the one shown. */
export function approvalState(v: Pick<ApprovalView, 'status' | 'layer' | 'evidence'>, shownDigest: string): Raw {
  const { status, layer } = v;
  const changed = shownDigest !== v.evidence.digest;
  return html`<dl class="facts">
      <dt>Promotion</dt>
      <dd><a href="${timelinePath(status.id)}">${status.id}</a> (${status.state}), started by ${status.initiator}</dd>
      <dt>Layer phase</dt>
      <dd><span class="phase" id="phase">${layer.phase}</span></dd>
      <dt>Approvals</dt>
      <dd>
        ${layer.approvals.filter((a) => a.decision === 'approve').length} of
        ${layer.approval.required}${layer.approvals.map((a) => html`<br />${a.decision} by ${a.actor}: “${a.reason}”`)}
      </dd>
    </dl>
    ${changed ? html`<p class="error" role="alert">The evidence changed since this page was opened: reload before deciding.</p>` : ''}`;
}

// --- timeline ----------------------------------------------------------------------------------

export function timelinePage(status: PromotionStatus, entries: AuditEntry[], now: number): Raw {
  return html`<h1>Promotion ${status.id}</h1>
    <div id="timeline" data-live="${timelinePath(status.id)}/frag" aria-live="polite">
      ${timelineFragment(status, entries, now)}
    </div>`;
}

export function timelineFragment(status: PromotionStatus, entries: AuditEntry[], now: number): Raw {
  const rows = status.layers.map((l) => {
    const mine = entries.filter((e) => e.layer === l.name);
    const start = mine[0]?.at;
    const ended = ['promoted', 'failed', 'rolled-back'].includes(l.phase) ? mine[mine.length - 1]?.at : undefined;
    const people = [
      ...new Set(mine.filter((e) => e.authentication !== 'system').map((e) => `${e.actor} (${e.action})`)),
    ];
    const waiting = l.phase === 'awaiting-approval';
    return html`<tr>
      <th scope="row">${waiting ? html`<a href="${approvalPath(status.id, l.name)}">${l.name}</a>` : l.name}</th>
      <td><span class="phase">${l.phase}</span></td>
      <td>${time(start)}</td>
      <td>${time(ended)}</td>
      <td>
        ${start ? humanDuration((ended ? Date.parse(ended) : now) - Date.parse(start)) + (ended ? '' : ' so far') : '—'}
      </td>
      <td>
        ${people.length ? people.map((p, i) => html`${i ? raw('<br>') : ''}${p}`) : html`<span class="muted">—</span>`}
      </td>
    </tr>`;
  });
  return html`<p>
      ${status.candidate.name} ${status.candidate.version} (<code>${status.candidate.digest.slice(0, 12)}</code>),
      started by ${status.initiator}; state
      <strong>${status.state}</strong>${status.reason ? `: ${status.reason}` : ''}.
    </p>
    <table class="timeline">
      <thead>
        <tr>
          <th scope="col">Layer</th>
          <th scope="col">Phase</th>
          <th scope="col">Started</th>
          <th scope="col">Ended</th>
          <th scope="col">Duration</th>
          <th scope="col">Who acted</th>
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
    <h2>Steps</h2>
    ${auditTable(entries)}
    <p><a href="/ui/audit?promotion=${enc(status.id)}">Audit of this promotion</a></p>`;
}

// --- audit -------------------------------------------------------------------------------------

export interface AuditFilter {
  promotion?: string;
  actor?: string;
  action?: string;
  since?: string;
  until?: string;
}

export const AUDIT_SHOWN = 500;

/** An audit entry as shown: the promotion's own, or one of the export's (with its source). */
export type ShownEntry = Omit<AuditEntry, 'authentication'> & { authentication: string; source?: string };

function auditTable(entries: ShownEntry[]): Raw {
  if (entries.length === 0) return html`<p class="empty">No entries.</p>`;
  return html`<table class="audit">
    <thead>
      <tr>
        <th scope="col">When</th>
        <th scope="col">Who</th>
        <th scope="col">Action</th>
        <th scope="col">Layer</th>
        <th scope="col">Detail</th>
        <th scope="col">Authentication</th>
      </tr>
    </thead>
    <tbody>
      ${entries.map(
        (e) =>
          html`<tr>
            <td>${time(e.at)}</td>
            <td>${e.actor}</td>
            <td><code>${e.action}</code></td>
            <td>${e.layer ?? '—'}</td>
            <td class="detail">${e.source ? html`<span class="muted">${e.source}</span> ` : ''}${e.detail}</td>
            <td>${e.authentication}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function auditPage(f: AuditFilter, entries: ShownEntry[], total: number): Raw {
  const field = (name: keyof AuditFilter, label: string, type = 'text', hint = '') =>
    html`<div class="field">
      <label for="f-${name}">${label}</label
      ><input
        id="f-${name}"
        name="${name}"
        type="${type}"
        value="${f[name] ?? ''}"
        ${hint ? raw(` placeholder="${hint}"`) : ''}
      />
    </div>`;
  return html`<h1>Audit</h1>
    <form method="get" action="/ui/audit" class="filters" role="search" aria-label="Filter the audit trail">
      ${field('promotion', 'Promotion id')} ${field('actor', 'Actor contains')}
      ${field('action', 'Action starts with', 'text', 'approval.')} ${field('since', 'From (UTC)', 'datetime-local')}
      ${field('until', 'Until (UTC)', 'datetime-local')}
      <button type="submit">Filter</button>
    </form>
    <p>
      ${total} matching
      entr${total === 1 ? 'y' : 'ies'}${total > entries.length ? `; the newest ${entries.length} shown` : ''}, newest
      first.
    </p>
    ${auditTable(entries)}`;
}

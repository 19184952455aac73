// Ladders live on the server: each ladder name is a long-lived entity workflow holding the
// versions applied to it. Pure rules shared by that workflow, the activity that pins a version at
// promote, and clients: what a version is, when an apply is allowed, how two versions differ.

import { normalizeIdentity } from './identity';
import type { LadderSpec, LayerSpec } from './ladder';

/** One applied version of a ladder: the validated ladder, its digest, and who applied it and why. */
export interface LadderVersion {
  /** 1, 2, 3, … in the order they were applied. */
  version: number;
  /** sha256 (hex) of the canonical JSON of `ladder` (see canonicalJson). */
  digest: string;
  ladder: LadderSpec;
  /** Normalized identity of who applied it. */
  actor: string;
  /**
   * Whether `actor` was verified. Until the API door exists every identity is free text typed in
   * local mode, so the ladder workflow stores false whatever a client claims.
   */
  authenticated: boolean;
  reason: string;
  /** ISO time (workflow time) the version was stored. */
  at: string;
}

/** What a client asks the ladder workflow to store (the `apply` Update). */
export interface LadderApplyRequest {
  ladder: LadderSpec;
  digest: string;
  actor: string;
  reason: string;
}

export interface LadderApplyReply {
  /** False when the ladder equals the current version: nothing was stored. */
  changed: boolean;
  current: LadderVersion;
  /** The version before this one (null for the first). */
  previous: LadderVersion | null;
}

/** A promotion names its ladder; the promotion workflow resolves and pins the version itself. */
export interface LadderRef {
  name: string;
  /** The version to run; the ladder's current version when absent. */
  version?: number;
  /** The first and last layers to climb (the whole ladder when absent). */
  from?: string;
  to?: string;
}

/** The ladder version a promotion runs: read from the ladder workflow, digest re-checked. */
export interface PinnedLadder {
  name: string;
  version: number;
  digest: string;
  /** The layers to climb, already sliced to from..to. */
  layers: LayerSpec[];
}

export const LADDER_REFUSED = 'LadderRefused';

export type ApplyDecision =
  | { kind: 'refused'; reason: string }
  | { kind: 'unchanged'; current: LadderVersion }
  | { kind: 'new'; version: Omit<LadderVersion, 'at'> };

/** Whether an `apply` stores a new version of ladder `name`, given the versions it has. */
export function decideApply(name: string, versions: LadderVersion[], req: Partial<LadderApplyRequest>): ApplyDecision {
  const actor = normalizeIdentity(String(req?.actor ?? ''));
  const reason = String(req?.reason ?? '').trim();
  const refused = (why: string): ApplyDecision => ({ kind: 'refused', reason: why });
  if (!actor) return refused('applying a ladder needs an identity (--as)');
  if (!reason) return refused('applying a ladder needs a reason (--reason)');
  const ladder = req.ladder;
  if (!ladder || typeof ladder !== 'object' || ladder.name !== name) {
    return refused(`ladder workflow "${name}" only stores ladders named "${name}" (got "${String(ladder?.name)}")`);
  }
  if (!Array.isArray(ladder.layers) || ladder.layers.length === 0) {
    return refused(`ladder "${name}": expected at least one layer`);
  }
  const digest = String(req.digest ?? '');
  if (!/^[0-9a-f]{64}$/.test(digest)) return refused(`ladder "${name}": expected a sha256 digest (64 hex digits)`);
  const current = versions[versions.length - 1];
  if (current && current.digest === digest) return { kind: 'unchanged', current };
  return {
    kind: 'new',
    version: {
      version: (current?.version ?? 0) + 1,
      digest,
      ladder: { name: ladder.name, layers: ladder.layers },
      actor,
      authenticated: false,
      reason,
    },
  };
}

/** The identity as audit trails show it: local identities say they were not verified. */
export function describeActor(v: { actor: string; authenticated: boolean }): string {
  return v.authenticated ? v.actor : `${v.actor} (local, unauthenticated)`;
}

/**
 * JSON with object keys sorted and `undefined` members left out, so the same ladder always gives
 * the same text (and digest), whatever order its YAML or its builder wrote the keys in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** What goes into a ladder's digest: its name and validated layers, nothing else. */
export function digestInput(ladder: LadderSpec): string {
  return canonicalJson({ name: ladder.name, layers: ladder.layers });
}

export interface LadderChange {
  /** A readable path: `layers[mirror].approval.required`, `layers[traffic]` (added or removed). */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/**
 * The differences between two versions of a ladder, field by field. Layers are matched by name
 * (and gates by name within a layer), so a reordered or inserted layer reads as what it is rather
 * than as every later layer changing. A structural diff of the validated ladder rather than a text
 * diff of the YAML: defaults filled in and comments do not show, and no diff library is needed.
 */
export function diffLadders(before: LadderSpec | null, after: LadderSpec): LadderChange[] {
  const changes: LadderChange[] = [];
  if (!before) {
    for (const l of after.layers) changes.push({ path: `layers[${l.name}]`, kind: 'added' });
    return changes;
  }
  const beforeOrder = before.layers.map((l) => l.name).join(' → ');
  const afterOrder = after.layers.map((l) => l.name).join(' → ');
  const old = new Map(before.layers.map((l) => [l.name, l]));
  const now = new Map(after.layers.map((l) => [l.name, l]));
  for (const l of before.layers) if (!now.has(l.name)) changes.push({ path: `layers[${l.name}]`, kind: 'removed' });
  for (const l of after.layers) {
    const was = old.get(l.name);
    if (!was) changes.push({ path: `layers[${l.name}]`, kind: 'added' });
    else diffValues(`layers[${l.name}]`, keyed(was), keyed(l), changes);
  }
  const sameMembers = before.layers.length === after.layers.length && after.layers.every((l) => old.has(l.name));
  if (sameMembers && beforeOrder !== afterOrder) {
    changes.push({ path: 'layers (order)', kind: 'changed', before: beforeOrder, after: afterOrder });
  }
  return changes;
}

/** A layer with its gates keyed by name, so that gates are compared name to name. */
function keyed(layer: LayerSpec): Record<string, unknown> {
  return { ...layer, gates: Object.fromEntries(layer.gates.map((g) => [g.name, g])) };
}

function diffValues(path: string, a: unknown, b: unknown, out: LadderChange[]): void {
  if (canonicalJson(a) === canonicalJson(b)) return;
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const p = `${path}.${k}`;
      if (a[k] === undefined && b[k] !== undefined) out.push({ path: p, kind: 'added', after: b[k] });
      else if (a[k] !== undefined && b[k] === undefined) out.push({ path: p, kind: 'removed', before: a[k] });
      else diffValues(p, a[k], b[k], out);
    }
    return;
  }
  out.push({ path, kind: 'changed', before: a, after: b });
}

/** One line per change, e.g. `~ layers[mirror].approval.required: 2 → 3`. */
export function renderLadderDiff(changes: LadderChange[]): string {
  if (changes.length === 0) return '  (no changes)';
  const show = (v: unknown) => (typeof v === 'string' ? v : canonicalJson(v));
  return changes
    .map((c) => {
      if (c.kind === 'added') return `+ ${c.path}${c.after !== undefined ? `: ${show(c.after)}` : ''}`;
      if (c.kind === 'removed') return `- ${c.path}${c.before !== undefined ? `: ${show(c.before)}` : ''}`;
      return `~ ${c.path}: ${show(c.before)} → ${show(c.after)}`;
    })
    .join('\n');
}

/** The ladder entity workflow's id: one per ladder name and task queue. */
export function ladderWorkflowId(taskQueue: string, name: string): string {
  return `${taskQueue}.ladder.${name}`;
}

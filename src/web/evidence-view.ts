// Everything one approval page shows, gathered server-side: the layer's gates and data summary (and
// the evidence digest the decision will carry), the same gates from the layer's known-good version,
// the per-second windows of its load and chaos runs, the candidate against the known-good one
// (version, digest, changed files) and the layer's last DR drill. Only names, counts and figures:
// never a data value.

import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { artifactEntryDir } from '../artifacts/store';
import { fileSha256 } from '../config/candidate';
import type { EvidenceDigest } from '../domain/evidence';
import { evidenceDigest, layerEvidence } from '../domain/evidence';
import type { VersionEvent } from '../domain/environment';
import type { GateResult, LayerStatus, PromotionStatus } from '../domain/status';
import type { LoadWindow } from '../load/generator';
import { RunStore } from '../load/runs';
import { drillHistory, type DrillHistoryRow } from '../temporal/drills';
import { getEnvironment } from '../temporal/environments';
import { getStatus } from '../temporal/promotions';

export interface KnownGood {
  version: string;
  digest: string;
  /** The promotion that promoted it into this layer. */
  promotionId: string;
  promotedAt: string;
  /** Its gates in this layer (empty when that promotion cannot be read any more). */
  gates: GateResult[];
}

export interface RunSeries {
  gate: string;
  runId: string;
  windows: Array<Pick<LoadWindow, 'second' | 'p50' | 'p99' | 'errors' | 'done' | 'partial'>>;
}

export interface ChangedFiles {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface ApprovalView {
  status: PromotionStatus;
  layer: LayerStatus;
  evidence: EvidenceDigest;
  knownGood: KnownGood | null;
  runs: RunSeries[];
  changedFiles: ChangedFiles | null;
  lastDrill: DrillHistoryRow | null;
  /** What could not be read, in words (the rest of the page still shows). */
  problems: string[];
}

export async function approvalView(
  deps: { client: Client; taskQueue: string; home: string; artifacts: string },
  id: string,
  layerName: string,
): Promise<ApprovalView | undefined> {
  const status = await getStatus(deps.client, id);
  const layer = status.layers.find((l) => l.name === layerName);
  const shown = layerEvidence(status, layerName);
  if (!layer || !shown) return undefined;
  const problems: string[] = [];
  const knownGood = await knownGoodOf(deps.client, deps.taskQueue, layerName, status).catch((err: Error) => {
    problems.push(`known-good version: ${err.message}`);
    return null;
  });
  const store = new RunStore(deps.home);
  const runs: RunSeries[] = [];
  for (const gate of layer.gates) {
    if (!gate.runId) continue;
    try {
      const run = store.get(gate.runId);
      runs.push({
        gate: gate.name,
        runId: gate.runId,
        windows: (run.results.windows ?? []).map((w) => ({
          second: w.second,
          p50: w.p50,
          p99: w.p99,
          errors: w.errors,
          done: w.done,
          partial: w.partial,
        })),
      });
    } catch (err) {
      problems.push(`run ${gate.runId}: ${(err as Error).message}`);
    }
  }
  let changedFiles: ChangedFiles | null = null;
  if (knownGood && knownGood.digest !== status.candidate.digest) {
    changedFiles = await compareEntries(deps.artifacts, knownGood.digest, status.candidate.digest).catch(
      (err: Error) => {
        problems.push(`changed files: ${err.message}`);
        return null;
      },
    );
  }
  const lastDrill = await drillHistory(deps.client, deps.taskQueue, layerName, 1)
    .then((rows) => rows[0] ?? null)
    .catch((err: Error) => {
      problems.push(`last drill: ${err.message}`);
      return null;
    });
  return {
    status,
    layer,
    evidence: evidenceDigest(shown),
    knownGood,
    runs,
    changedFiles,
    lastDrill,
    problems,
  };
}

/**
 * The layer's known-good version: the last release promoted into its environment by another
 * candidate (the environment's own record), with that promotion's gates in this layer.
 */
async function knownGoodOf(
  client: Client,
  taskQueue: string,
  layer: string,
  status: PromotionStatus,
): Promise<KnownGood | null> {
  const env = await getEnvironment(client, taskQueue, layer);
  const promoted = [...env.history]
    .reverse()
    .find(
      (e: VersionEvent) =>
        e.event === 'promoted' && e.digest && e.version && e.digest !== status.candidate.digest && e.by !== status.id,
    );
  if (!promoted) return null;
  const gates = await getStatus(client, promoted.by)
    .then((s) => s.layers.find((l) => l.name === layer)?.gates ?? [])
    .catch(() => []);
  return {
    version: promoted.version!,
    digest: promoted.digest!,
    promotionId: promoted.by,
    promotedAt: promoted.at,
    gates,
  };
}

/** The relative paths under a directory with each file's sha256. */
async function fileDigests(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(relPath);
      else if (entry.isFile()) out.set(relPath, await fileSha256(path.join(dir, relPath)));
    }
  };
  await walk('');
  return out;
}

/** The files that differ between two artifact store entries (by path and sha256). */
export async function compareEntries(artifacts: string, from: string, to: string): Promise<ChangedFiles> {
  const [a, b] = await Promise.all([from, to].map((d) => fileDigests(artifactEntryDir(artifacts, d))));
  const added = [...b.keys()].filter((p) => !a.has(p)).sort();
  const removed = [...a.keys()].filter((p) => !b.has(p)).sort();
  const changed = [...b.keys()].filter((p) => a.has(p) && a.get(p) !== b.get(p)).sort();
  return { added, removed, changed };
}

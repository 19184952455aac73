// An application service shared by the CLI and the API server (src/services/: above the workers,
// below both). Replaying a stored load run against the same candidate in the same layer: `strata replay` in
// local mode and POST /runs/{id}/replay on `strata serve` both call replayRun.

import { loadCandidate } from '../config/candidate';
import { RefusedError } from '../temporal/promotions';
import { ConfigError, issuesFromZod, UsageError } from '../validation/errors';
import { runLoad } from '../load/generator';
import { describePhases, loadProfileSchema } from '../load/profile';
import { requestBodies } from '../load/requests';
import { InvalidRunError, newRunId, RunNotFoundError, RunStore, type StoredRun } from '../load/runs';

const candidateLabel = (c: StoredRun['candidate']): string => `${c.name} ${c.version}`;

/** The stored run, or a usage error (exit 2; 400 at the API) naming the id. */
export function getRun(runs: RunStore, id: string): StoredRun {
  try {
    return runs.get(id);
  } catch (err) {
    if (err instanceof RunNotFoundError || err instanceof InvalidRunError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * Runs the stored run's profile again, from this process, against the same candidate in the same
 * layer, and stores the new run with `replayOf` set. The CLI calls it in local mode, `strata serve`
 * for POST /runs/{id}/replay. A precondition that fails is a UsageError (400 at the API); an
 * unhealthy environment a RefusedError (409).
 */
export async function replayRun(
  home: string,
  id: string,
  opts: { signal?: AbortSignal; log: (line: string) => void },
): Promise<StoredRun> {
  const runs = new RunStore(home);
  const original = getRun(runs, id);
  const parsed = loadProfileSchema.safeParse(original.profile);
  if (!parsed.success) {
    throw new ConfigError(runs.file(id), issuesFromZod(parsed.error.issues, ['profile']));
  }
  const profile = parsed.data;

  // Loaded when a replay runs: the local provider brings in the whole data plane.
  const { LocalProvider } = await import('../providers/local');
  const provider = new LocalProvider(home);
  const env = await provider.describe(original.layer);
  const wanted = `${candidateLabel(original.candidate)} (sha256 ${original.candidate.digest.slice(0, 12)})`;
  const running = env?.runningRelease;
  if (!env || !running || !env.url) {
    throw new UsageError(
      `replay ${id}: nothing runs in layer ${original.layer}; deploy ${wanted} there first (the run loaded it)`,
    );
  }
  if (running.digest !== original.candidate.digest) {
    throw new UsageError(
      `replay ${id}: layer ${original.layer} runs ${running.name} ${running.version} (sha256 ${running.digest.slice(0, 12)}), ` +
        `not ${wanted} that the run loaded; deploy that version there to replay it`,
    );
  }
  const health = await provider.health(original.layer);
  if (!health.healthy) throw new RefusedError(`replay ${id}: ${original.layer}: ${health.detail}`);

  const input =
    profile.requests.source === 'environment'
      ? (await loadCandidate(running.dir, { installed: true })).input
      : undefined;
  const bodies = requestBodies(profile, { dbPath: env.dbPath, input });
  const runId = newRunId();
  // results.target is the full request URL (run.target may be the bare base URL); the port changes between deploys.
  const path = new URL(original.results.target).pathname;
  opts.log(`${runId}: replaying ${id} against ${env.url}${path}: ${describePhases(profile)}`);
  const results = await runLoad({
    baseUrl: env.url,
    path,
    profile,
    bodies: bodies.body,
    runId,
    signal: opts.signal,
    onProgress: (p) => opts.log(`${runId}: ${p.sent}/${p.intended} sent, ${p.done} done, ${p.errors} errors`),
  });
  const run: StoredRun = {
    id: runId,
    createdAt: results.startedAt,
    layer: original.layer,
    profile,
    seed: profile.seed,
    candidate: original.candidate,
    target: results.target,
    results,
    replayOf: id,
  };
  runs.save(run);
  return run;
}

// The layer's environment: provision, deploy, promote, roll back, rotate credentials, tear down.

import { ApplicationFailure } from '@temporalio/activity';
import { loadCandidate } from '../src/config/candidate';
import type { CandidateRef, LayerSpec } from '../src/domain/ladder';
import type { Release } from '../src/domain/release';
import { type ActivityDeps, withEnvironmentLock, withHeartbeat } from './support';

export interface ProvisionResult {
  dir: string;
  /** The environment's known-good release before this promotion: what a rollback restores. */
  knownGood: Release | null;
  /**
   * The same release under its earlier name: results recorded before the rename carry it here, so
   * a workflow reads `knownGood ?? previous`. Never set now.
   */
  previous?: Release | null;
  /** The version running before this promotion. */
  running: string | null;
}

export function createEnvironmentActivities({ provider, paths }: ActivityDeps) {
  return {
    async provisionEnvironment(input: { promotionId: string; layer: LayerSpec }): Promise<ProvisionResult> {
      return withHeartbeat(async () => {
        const env = await provider.provision(input.layer.name, {
          promotionId: input.promotionId,
          ttl: input.layer.ttl,
          ...(input.layer.provider ? { provider: input.layer.provider } : {}),
        });
        return { dir: env.dir, knownGood: env.knownGood, running: env.running };
      });
    },

    async deployCandidate(input: { layer: LayerSpec; candidate: CandidateRef }): Promise<{
      url: string;
      running: string;
      changed: boolean;
    }> {
      return withHeartbeat(async () => {
        const { env, changed } = await withEnvironmentLock(paths, input.layer.name, () =>
          provider.deploy(input.layer.name, input.candidate),
        );
        if (!env.url || !env.running) throw new Error(`deploy of ${input.candidate.version} left nothing running`);
        return { url: env.url, running: env.running, changed };
      });
    },

    async promoteRelease(input: { layer: LayerSpec; digest: string }): Promise<{ running: string | null }> {
      return withHeartbeat(async () => {
        const env = await withEnvironmentLock(paths, input.layer.name, () =>
          provider.markPromoted(input.layer.name, input.digest),
        );
        return { running: env.running };
      });
    },

    async rollbackEnvironment(input: { layer: LayerSpec; to: Release | null }): Promise<{ running: string | null }> {
      return withHeartbeat(async () => {
        const env = await withEnvironmentLock(paths, input.layer.name, () =>
          provider.rollback(input.layer.name, input.to),
        );
        return { running: env.running };
      });
    },

    /** The release a manual rollback returns to: the named version, or the layer's known-good one. */
    async resolveRollbackTarget(input: {
      layer: string;
      toVersion?: string;
    }): Promise<{ release: Release; from: string | null }> {
      const env = await provider.describe(input.layer);
      if (!env)
        throw ApplicationFailure.nonRetryable(`environment ${input.layer} does not exist`, 'RollbackTargetUnknown');
      const from = env.running;
      if (input.toVersion) {
        const releases = await provider.releases(input.layer);
        const match = [...releases].reverse().find((r) => r.version === input.toVersion);
        if (!match) {
          throw ApplicationFailure.nonRetryable(
            `version ${input.toVersion} was never deployed in ${input.layer} (deployed there: ${releases.map((r) => r.version).join(', ') || 'none'})`,
            'RollbackTargetUnknown',
          );
        }
        return { release: match, from };
      }
      const good = await provider.knownGood(input.layer);
      if (!good)
        throw ApplicationFailure.nonRetryable(
          `${input.layer} has no earlier known-good version to roll back to`,
          'RollbackTargetUnknown',
        );
      return { release: good, from };
    },

    /** The candidate as installed in a release directory (its manifest travels with it). */
    async releaseCandidate(input: { layer: string; digest: string }): Promise<CandidateRef> {
      const release = (await provider.releases(input.layer)).find((r) => r.digest === input.digest);
      if (!release)
        throw ApplicationFailure.nonRetryable(
          `release ${input.digest.slice(0, 12)} is not installed in ${input.layer}`,
          'ReleaseMissing',
        );
      return loadCandidate(release.dir, { installed: true });
    },

    async rotateCredentials(input: { layer: string }): Promise<{ rotatedAt: string | null }> {
      return withHeartbeat(async () => {
        if (!(await provider.describe(input.layer))) return { rotatedAt: null }; // nothing provisioned yet
        // A postgres environment's rotation redeploys the candidate: not while a deploy runs.
        return withEnvironmentLock(paths, input.layer, () => provider.rotateCredentials(input.layer));
      });
    },

    /** Removes the environment; says what ran there (histories before this returned nothing). */
    async teardownEnvironment(input: { layer: string }): Promise<{ running: string | null }> {
      return withHeartbeat(() =>
        withEnvironmentLock(paths, input.layer, async () => {
          const running = (await provider.describe(input.layer))?.running ?? null;
          await provider.teardown(input.layer);
          return { running };
        }),
      );
    },
  };
}

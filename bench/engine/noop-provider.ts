// A provider that provisions nothing: environments are entries in a map. Used only by
// `npm run bench -- engine`, so that the engine's own cost (workflows, activities, signals, leases)
// is what gets measured. Implements the Provider interface of src/providers/types.ts.

import type { CandidateRef, SeedSpec } from '../../src/domain/ladder';
import type { EnvironmentInfo, Provider, Release } from '../../src/providers/types';

export class NoopProvider implements Provider {
  readonly kind = 'noop';
  readonly #envs = new Map<string, EnvironmentInfo & { releases: Release[] }>();

  #env(layer: string) {
    let env = this.#envs.get(layer);
    if (!env) {
      env = {
        layer,
        dir: `/noop/${layer}`,
        dbPath: `/noop/${layer}/data.db`,
        promoted: null,
        running: null,
        url: null,
        pid: null,
        releases: [],
      };
      this.#envs.set(layer, env);
    }
    return env;
  }

  #info(layer: string): EnvironmentInfo {
    const { releases: _releases, ...info } = this.#env(layer);
    return info;
  }

  async provision(layer: string): Promise<EnvironmentInfo> {
    return this.#info(layer);
  }
  async seed(layer: string, spec: SeedSpec): Promise<{ dbPath: string; rows: number; created: boolean }> {
    return { dbPath: this.#env(layer).dbPath, rows: spec.rows, created: false };
  }
  async deploy(layer: string, candidate: CandidateRef): Promise<{ env: EnvironmentInfo; changed: boolean }> {
    const env = this.#env(layer);
    const release: Release = {
      name: candidate.name,
      version: candidate.version,
      digest: candidate.digest,
      dir: `${env.dir}/releases/${candidate.digest}`,
      serve: [],
    };
    const changed = env.running?.digest !== release.digest;
    env.running = release;
    env.url = 'http://127.0.0.1:9/noop';
    if (!env.releases.some((r) => r.digest === release.digest)) env.releases.push(release);
    return { env: this.#info(layer), changed };
  }
  async health(): Promise<{ healthy: boolean; detail: string }> {
    return { healthy: true, detail: 'noop' };
  }
  async restart(layer: string): Promise<EnvironmentInfo> {
    return this.#info(layer);
  }
  async markPromoted(layer: string): Promise<EnvironmentInfo> {
    const env = this.#env(layer);
    env.promoted = env.running;
    return this.#info(layer);
  }
  async rollback(layer: string, to: Release | null): Promise<EnvironmentInfo> {
    const env = this.#env(layer);
    env.running = to;
    return this.#info(layer);
  }
  async teardown(layer: string): Promise<void> {
    this.#envs.delete(layer);
  }
  async rotateCredentials(): Promise<{ rotatedAt: string }> {
    return { rotatedAt: new Date().toISOString() };
  }
  async describe(layer: string): Promise<EnvironmentInfo | null> {
    return this.#envs.has(layer) ? this.#info(layer) : null;
  }
  async releases(layer: string): Promise<Release[]> {
    return [...this.#env(layer).releases];
  }
  async lastKnownGood(layer: string): Promise<Release | null> {
    const env = this.#env(layer);
    return env.promoted && env.promoted.digest !== env.running?.digest ? env.promoted : null;
  }
}

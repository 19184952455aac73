// A provider that provisions nothing: environments are entries in a map. Used only by
// `npm run bench -- engine` (and the engine history test), so that the engine's own cost
// (workflows, activities, signals, leases) is what gets measured. Implements the Provider
// interface of src/providers/types.ts.

import type { CandidateRef, SeedSpec } from '../../src/domain/ladder';
import type { EnvironmentInfo, Provider } from '../../src/providers/types';
import type { Release } from '../../src/domain/release';

interface NoopEnv {
  layer: string;
  knownGood: Release | null;
  running: Release | null;
  releases: Release[];
}

export class NoopProvider implements Provider {
  readonly kind = 'noop';
  readonly #envs = new Map<string, NoopEnv>();

  #env(layer: string): NoopEnv {
    let env = this.#envs.get(layer);
    if (!env) {
      env = { layer, knownGood: null, running: null, releases: [] };
      this.#envs.set(layer, env);
    }
    return env;
  }

  #info(layer: string): EnvironmentInfo {
    const env = this.#env(layer);
    return {
      layer,
      dir: `/noop/${layer}`,
      dbPath: `/noop/${layer}/data.db`,
      knownGood: env.knownGood,
      running: env.running?.version ?? null,
      runningRelease: env.running,
      url: env.running ? 'http://127.0.0.1:9/noop' : null,
      pid: null,
    };
  }

  async provision(layer: string): Promise<EnvironmentInfo> {
    return this.#info(layer);
  }
  async populate(layer: string, spec: SeedSpec): Promise<{ dbPath: string; rows: number; created: boolean }> {
    return { dbPath: this.#info(layer).dbPath, rows: spec.rows, created: false };
  }
  async deploy(layer: string, candidate: CandidateRef): Promise<{ env: EnvironmentInfo; changed: boolean }> {
    const env = this.#env(layer);
    const release: Release = {
      name: candidate.name,
      version: candidate.version,
      digest: candidate.digest,
      dir: `/noop/${layer}/releases/${candidate.digest}`,
      serve: [],
    };
    const changed = env.running?.digest !== release.digest;
    env.running = release;
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
    env.knownGood = env.running;
    return this.#info(layer);
  }
  async rollback(layer: string, to: Release | null): Promise<EnvironmentInfo> {
    this.#env(layer).running = to;
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
  async knownGood(layer: string): Promise<Release | null> {
    const env = this.#env(layer);
    return env.knownGood && env.knownGood.digest !== env.running?.digest ? env.knownGood : null;
  }
}

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import {
  ArtifactMissingError,
  ArtifactTamperedError,
  artifactEntryDir,
  removeSealedTree,
  verifyDirectory,
} from '../artifacts/store';
import type { CandidateRef, ProviderSpec, SeedSpec } from '../domain/ladder';
import { populationReportPath } from '../data/populate';
import { seedTransactions } from '../data/transactions';
import { strataPaths } from '../paths';
import { writeFileAtomically } from '../tools/files';
import { freePort, portFree } from '../tools/ports';
import {
  findProcesses,
  processAlive,
  signalProcessTree,
  waitForExit,
  PROCESS_ROLE_ENV,
  PROCESS_TOKEN_ENV,
  processEnviron,
  type ProcessIdentity,
  processStartTime,
  signalVerified,
  verifyProcess,
  stopVerified,
  waitForVerifiedExit,
} from '../tools/processes';
import type { Release } from '../domain/release';
import type { DrillDatabase, EnvironmentInfo, Provider } from './types';
import { candidateUser, childEnvironment, prepareSandbox } from './sandbox';

import {
  type DependencyState,
  ensureDependency,
  environmentProcesses,
  FEATURE_SERVICE_ROLE,
  featuresUrl,
  proxyApiUrl,
  stopDependency,
} from './dependency';
import {
  adminUrlAvailable,
  claimPublicSchema,
  connectionUrl,
  databaseNames,
  type DatabaseCredentials,
  type DatabaseNames,
  dropEnvironmentDatabase,
  ensureEnvironmentDatabase,
  generatePassword,
  readCredentials,
  redactedUrl,
  resolveAdminUrl,
  setLoginPassword,
  writeCredentials,
} from './postgres';
import { copySqliteToPostgres } from './postgres-copy';
import { tsxLoaderUrl } from '../tools/processes';

/** A postgres environment's database, as state.json remembers it (names and references, no secret). */
interface DatabaseState {
  type: 'postgres';
  /** The ladder's `provider.url`: env:NAME, file:PATH or a URL without a password. */
  adminRef: string;
  names: DatabaseNames;
  /** The login role (a or b) the running candidate connects as. */
  login?: 'a' | 'b' | null;
}

/** What the local provider remembers about one environment, in envs/<layer>/state.json. */
interface EnvState {
  layer: string;
  createdAt: string;
  promotionIds: string[];
  ttl?: string;
  /** What the built-in generator populated the database with (random seed, rows), if it did. */
  population: (SeedSpec & { rows: number }) | null;
  /** The release last promoted here. */
  knownGood: Release | null;
  /** Every release promoted here, oldest first (the known-good versions a rollback can return to). */
  knownGoodHistory?: Array<Release & { at: string }>;
  /** The release whose process serves now. */
  runningRelease: Release | null;
  pid: number | null;
  /** When `pid` started (/proc/<pid>/stat field 22): with the token, what tells it from a reused pid. */
  pidStartTime?: number | null;
  /** This environment's token, put in the environment of every process started for it. */
  token?: string;
  port: number | null;
  /** The feature-lookup dependency and its fault proxy. */
  dependency?: DependencyState | null;
  /** A postgres environment's database and roles (absent: the SQLite file is the only database). */
  database?: DatabaseState | null;
  /** A postgres environment's front: the stable address relaying to the candidate process (src/providers/front.ts). */
  front?: { pid: number; port: number; pidStartTime: number | null } | null;
}

const FRONT_SCRIPT = path.join(__dirname, 'front.ts');
/** How long a rotation lets requests the front sent to the old process land before stopping it. */
const HANDOVER_GRACE_MS = 250;

export type ProviderEvent =
  | 'provisioned'
  | 'seeded'
  | 'release-installed'
  | 'process-started'
  | 'process-stopped'
  | 'promoted'
  | 'rolled-back'
  | 'torn-down'
  | 'credentials-rotated'
  | 'restarted'
  | 'dependency-started'
  | 'process-killed'
  | 'process-found'
  | 'process-unverified'
  | 'repaired'
  | 'process-exited'
  | 'port-taken'
  | 'artifact-tampered'
  | 'database-provisioned'
  | 'database-seeded'
  | 'database-dropped'
  | 'front-started'
  | 'front-stopped';

export class ProviderError extends Error {
  override name = 'ProviderError';
}

/**
 * The embedded default provider: each environment is a directory under $STRATA_HOME/envs/<layer>
 * with its own SQLite database, and the candidate runs as a detached local process. State is
 * written atomically before and after each side effect, so a worker killed at any point can call
 * the same method again and finish the job without creating a second directory, dataset or process.
 */
export class LocalProvider implements Provider {
  readonly kind = 'local';
  readonly envsDir: string;
  /** The artifact store deploys read candidates from ($STRATA_HOME/artifacts). */
  readonly artifactsDir: string;

  constructor(
    readonly home: string,
    private readonly opts: {
      healthTimeoutMs?: number;
      /** candidate.log rotates past this size (default STRATA_CANDIDATE_LOG_MAX_BYTES or 10 MB)... */
      logMaxBytes?: number;
      /** ...keeping this many rotated files (default STRATA_CANDIDATE_LOG_KEEP or 3). */
      logKeep?: number;
    } = {},
  ) {
    this.envsDir = strataPaths(home).envs;
    this.artifactsDir = strataPaths(home).artifacts;
    this.logMaxBytes = opts.logMaxBytes ?? positiveEnv('STRATA_CANDIDATE_LOG_MAX_BYTES') ?? 10 * 1024 * 1024;
    this.logKeep = opts.logKeep ?? positiveEnv('STRATA_CANDIDATE_LOG_KEEP') ?? 3;
  }

  private readonly logMaxBytes: number;
  private readonly logKeep: number;
  /** candidate.log files this worker watches for rotation while their candidates run. */
  private readonly watchedLogs = new Set<string>();
  private logTimer: NodeJS.Timeout | undefined;

  private watchLog(file: string): void {
    this.watchedLogs.add(file);
    if (this.logTimer) return;
    this.logTimer = setInterval(() => {
      for (const f of this.watchedLogs) {
        if (!fs.existsSync(path.dirname(f))) this.watchedLogs.delete(f);
        else rotateLog(f, this.logMaxBytes, this.logKeep);
      }
    }, 2000);
    this.logTimer.unref();
  }

  envDir(layer: string): string {
    if (!/^[a-z][a-z0-9-]*$/.test(layer)) throw new ProviderError(`invalid layer name "${layer}"`);
    return path.join(this.envsDir, layer);
  }

  async provision(
    layer: string,
    opts: { promotionId: string; ttl?: string; provider?: ProviderSpec },
  ): Promise<EnvironmentInfo> {
    const dir = this.envDir(layer);
    let state = this.readState(layer);
    if (!state) {
      // Build the directory beside its final place and rename: provisioned fully or not at all.
      fs.mkdirSync(this.envsDir, { recursive: true });
      const tmp = fs.mkdtempSync(path.join(this.envsDir, `.${layer}-`));
      fs.mkdirSync(path.join(tmp, 'releases'));
      state = {
        layer,
        createdAt: new Date().toISOString(),
        promotionIds: [],
        ttl: opts.ttl,
        population: null,
        knownGood: null,
        runningRelease: null,
        pid: null,
        port: null,
      };
      fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(state, null, 2));
      try {
        fs.renameSync(tmp, dir);
        this.record(layer, 'provisioned', { promotionId: opts.promotionId });
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        if (!this.readState(layer)) {
          if (fs.existsSync(dir))
            throw new ProviderError(
              `environment ${layer} has no state (${this.stateFile(layer)} is missing) but its directory remains; ` +
                `run \`strata env repair ${layer}\` to bring it back to a known condition`,
            );
          throw err;
        }
        // lost a race to an identical provision: fine
      }
      state = this.readState(layer)!;
    }
    const wanted = opts.provider;
    // With `fallback: local` and nothing configured on this worker, the environment gets no database
    // of its own (the SQLite file, as a local one).
    if (wanted?.type === 'postgres' && !(wanted.fallback === 'local' && !adminUrlAvailable(wanted.url)))
      await this.provisionDatabase(state, wanted.url);
    if (!fs.existsSync(path.join(this.envDir(layer), 'credentials.json'))) await this.rotateLocalSecret(layer);
    if (!state.promotionIds.includes(opts.promotionId)) {
      state.promotionIds.push(opts.promotionId);
      if (opts.ttl) state.ttl = opts.ttl;
      this.writeState(state);
    }
    return this.info(state);
  }

  async populate(layer: string, spec: SeedSpec): Promise<{ dbPath: string; rows: number; created: boolean }> {
    const state = this.mustState(layer);
    const dbPath = this.dbPath(layer);
    // The data plane (src/data/populate.ts) leaves a sidecar: then the database is not the built-in one.
    const populatedByDataPlane = fs.existsSync(populationReportPath(dbPath));
    if (
      state.population &&
      state.population.seed === spec.seed &&
      state.population.rows === spec.rows &&
      fs.existsSync(dbPath) &&
      !populatedByDataPlane
    ) {
      await this.syncDatabase(layer); // a retry after the SQLite file was written but before the copy
      return { dbPath, rows: state.population.rows, created: false };
    }
    // seedTransactions writes a temporary file and renames it: never a half-populated database.
    const { rows } = seedTransactions(dbPath, spec);
    fs.rmSync(populationReportPath(dbPath), { force: true });
    state.population = { ...spec, rows };
    this.writeState(state);
    this.record(layer, 'seeded', { ...spec });
    await this.syncDatabase(layer);
    return { dbPath, rows, created: true };
  }

  async deploy(layer: string, candidate: CandidateRef): Promise<{ env: EnvironmentInfo; changed: boolean }> {
    const state = this.mustState(layer);
    const release = await this.installRelease(layer, candidate);
    this.locateCandidate(state);
    if (state.runningRelease?.digest === release.digest && state.pid) {
      const healthy = await this.waitHealthy(state.port!, release, 5_000);
      if (healthy) return { env: this.info(state), changed: false };
      await this.stopProcess(state);
    } else if (this.anyCandidate(state)) {
      await this.stopProcess(state);
    }
    await this.startProcess(state, release);
    return { env: this.info(state), changed: true };
  }

  async health(layer: string): Promise<{ healthy: boolean; detail: string }> {
    const state = this.readState(layer);
    if (!state?.runningRelease || !state.pid || !state.port) return { healthy: false, detail: 'no candidate running' };
    if (!this.ownsCandidate(state)) return { healthy: false, detail: `process ${state.pid} is not running` };
    const ok = await this.waitHealthy(state.port, state.runningRelease, 1_000);
    return {
      healthy: ok,
      detail: ok ? `healthy at 127.0.0.1:${state.port}` : `no healthy answer at 127.0.0.1:${state.port}`,
    };
  }

  /** SIGKILLs the candidate's process (a fault); the state keeps the release so restart() brings it back. */
  async killCandidate(layer: string): Promise<{ pid: number } | null> {
    const state = this.mustState(layer);
    this.locateCandidate(state);
    if (!state.pid) return null;
    await killProcessTree(this.candidateIdentity(state), 'the candidate');
    this.record(layer, 'process-killed', { pid: state.pid });
    return { pid: state.pid };
  }

  /** SIGKILLs the feature-lookup service (a fault); ensureDependency() starts it again. */
  async killDependency(layer: string): Promise<{ pid: number } | null> {
    const state = this.mustState(layer);
    const dep = state.dependency;
    const pid = dep?.featurePid;
    if (!pid || !processAlive(pid)) return null;
    if (dep.featureStartTime != null) {
      // Verified by token and start time: a reused pid is never killed as the feature service.
      const id = { pid, startTime: dep.featureStartTime, token: state.token ?? null, role: FEATURE_SERVICE_ROLE };
      if (!verifyProcess(id)) return null;
      await killProcessTree(id, 'the feature-lookup service');
    } else {
      signalProcessTree(pid, 'SIGKILL');
      if (!(await waitForExit(pid, 5_000)))
        throw new ProviderError(`the feature-lookup service (pid ${pid}) survived SIGKILL for 5 s`);
    }
    this.record(layer, 'process-killed', { pid, process: 'feature-service' });
    return { pid };
  }

  /** Stops and starts the running release again (a runbook step after its database was restored). */
  async restart(layer: string): Promise<EnvironmentInfo> {
    const state = this.mustState(layer);
    const release = state.runningRelease ?? state.knownGood;
    if (!release) throw new ProviderError(`nothing to restart in ${layer}: no release deployed`);
    await this.verifyRelease(layer, release);
    // A restart keeps the candidate's address, as a supervisor would: read it before locating the
    // process, which forgets the port of a candidate that is gone (killed by a chaos fault).
    const port = state.port;
    this.locateCandidate(state);
    if (this.anyCandidate(state)) await this.stopProcess(state);
    await this.startProcess(state, release, port ?? undefined);
    this.record(layer, 'restarted', { version: release.version });
    return this.info(state);
  }

  async markPromoted(layer: string, digest: string): Promise<EnvironmentInfo> {
    const state = this.mustState(layer);
    const running = state.runningRelease;
    if (running?.digest !== digest) {
      throw new ProviderError(`cannot promote ${digest.slice(0, 12)} in ${layer}: it is not the running release`);
    }
    if (state.knownGood?.digest !== digest) {
      state.knownGood = running;
      state.knownGoodHistory = [...(state.knownGoodHistory ?? []), { ...running, at: new Date().toISOString() }];
      this.writeState(state);
      this.record(layer, 'promoted', { version: running.version, digest });
    }
    return this.info(state);
  }

  async rollback(layer: string, to: Release | null): Promise<EnvironmentInfo> {
    const state = this.mustState(layer);
    this.locateCandidate(state);
    if (to && state.runningRelease?.digest === to.digest && state.pid) {
      return this.info(state); // already rolled back (a retry)
    }
    const from = state.runningRelease?.version ?? null;
    // Checked before anything stops: a tampered known-good release is refused, not half-restored.
    if (to) {
      if (!fs.existsSync(to.dir)) throw new ProviderError(`release ${to.version} is missing from ${to.dir}`);
      await this.verifyRelease(layer, to);
    }
    if (this.anyCandidate(state)) await this.stopProcess(state);
    if (to) {
      await this.startProcess(state, to);
    } else if (state.runningRelease) {
      state.runningRelease = null;
      this.writeState(state);
    }
    this.record(layer, 'rolled-back', { from, to: to?.version ?? null });
    return this.info(state);
  }

  /**
   * Stops the environment's processes and removes its directory. A missing or unreadable
   * state.json does not stop it: the candidate is found by its environment's directory in its
   * environment variables. Throws, rather than reporting success, while a process or the
   * directory remains.
   */
  async teardown(layer: string): Promise<void> {
    const dir = this.envDir(layer);
    let state: EnvState | null = null;
    try {
      state = this.readState(layer);
    } catch {
      state = null; // damaged: cleaned up all the same
    }
    if (!state && !fs.existsSync(dir)) return;
    const s: EnvState = state ?? this.blankState(layer);
    await this.stopProcess(s, { write: false });
    await this.stopFront(s);
    await stopDependency(s.dependency, { token: s.token ?? '', dir });
    // The database goes before the directory: its credentials file names it if state.json is lost.
    const database = s.database ?? this.databaseFromCredentials(layer);
    if (database) {
      const { dropped } = await dropEnvironmentDatabase(resolveAdminUrl(database.adminRef), database.names);
      if (dropped.length) this.record(layer, 'database-dropped', { dropped });
    }
    fs.rmSync(dir, { recursive: true, force: true });
    const remaining = environmentProcesses({ ...(s.token ? { token: s.token } : {}), dir });
    if (remaining.length || fs.existsSync(dir)) {
      throw new ProviderError(
        `teardown of ${layer} incomplete: ` +
          [
            remaining.length
              ? `process${remaining.length > 1 ? 'es' : ''} ${remaining.map((p) => p.pid).join(', ')} still running`
              : '',
            fs.existsSync(dir) ? `${dir} still present` : '',
          ]
            .filter(Boolean)
            .join('; '),
      );
    }
    this.record(layer, 'torn-down', {});
  }

  /**
   * Brings an environment with damaged or missing state back to a known condition: stops the
   * processes verified as its own (its candidate, by token or directory), rebuilds state.json from
   * what the environment holds and its event log (releases installed, the last promoted one), and
   * removes the database and its sidecar so the next populate reseeds. Returns what it did.
   */
  async repair(layer: string): Promise<{ stopped: number[]; knownGood: string | null; reseed: boolean }> {
    const dir = this.envDir(layer);
    let state: EnvState | null = null;
    try {
      state = this.readState(layer);
    } catch {
      state = null;
    }
    const s: EnvState = state ?? this.blankState(layer);
    const stopped = [
      ...new Set([...(s.pid && this.ownsCandidate(s) ? [s.pid] : []), ...this.candidateProcesses(s).map((p) => p.pid)]),
    ];
    await this.stopProcess(s, { write: false });
    await this.stopFront(s);
    await stopDependency(s.dependency, { token: s.token ?? '', dir });
    fs.mkdirSync(path.join(dir, 'releases'), { recursive: true });
    const events = this.events(layer);
    // releases() reads the installed releases of a readable state: write a blank one first.
    this.writeState({ ...this.blankState(layer), ...(s.token ? { token: s.token } : {}) });
    const installed = await this.releases(layer);
    const promoted = events.filter((e) => e.event === 'promoted').map((e) => String(e.digest));
    const history = promoted
      .map((digest) => installed.find((r) => r.digest === digest))
      .filter((r): r is Release => !!r)
      .map((r) => ({ ...r, at: new Date().toISOString() }));
    const provisioned = events.find((e) => e.event === 'provisioned');
    const rebuilt: EnvState = {
      ...this.blankState(layer),
      createdAt: state?.createdAt ?? (provisioned ? String(provisioned.at) : new Date().toISOString()),
      promotionIds: state?.promotionIds ?? [],
      ...(s.token ? { token: s.token } : {}),
      ...(state?.ttl ? { ttl: state.ttl } : {}),
      knownGood: history.at(-1) ? (({ at: _at, ...r }) => r)(history.at(-1)!) : null,
      knownGoodHistory: history,
      ...((state?.database ?? this.databaseFromCredentials(layer))
        ? { database: { ...(state?.database ?? this.databaseFromCredentials(layer))!, login: null } }
        : {}),
    };
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      if (f.startsWith('data.db')) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    }
    fs.rmSync(path.join(dir, 'seeds'), { recursive: true, force: true });
    this.writeState(rebuilt);
    if (!fs.existsSync(path.join(dir, 'credentials.json'))) await this.rotateLocalSecret(layer);
    this.record(layer, 'repaired', { stopped, knownGood: rebuilt.knownGood?.version ?? null });
    return { stopped, knownGood: rebuilt.knownGood?.version ?? null, reseed: true };
  }

  private blankState(layer: string): EnvState {
    return {
      layer,
      createdAt: new Date().toISOString(),
      promotionIds: [],
      population: null,
      knownGood: null,
      runningRelease: null,
      pid: null,
      port: null,
    };
  }

  /**
   * SQLite has no users, so the local provider's "credentials" are a secret in
   * envs/<layer>/credentials.json (mode 600) that the candidate is pointed at; rotating writes a
   * new one atomically. A provider for PostgreSQL rotates a real role's password instead.
   */
  async rotateCredentials(layer: string): Promise<{ rotatedAt: string }> {
    const state = this.mustState(layer);
    if (state.database) return this.rotateDatabaseCredentials(state, state.database);
    return this.rotateLocalSecret(layer);
  }

  private async rotateLocalSecret(layer: string): Promise<{ rotatedAt: string }> {
    this.mustState(layer);
    const file = path.join(this.envDir(layer), 'credentials.json');
    const rotatedAt = new Date().toISOString();
    writeFileAtomically(
      file,
      JSON.stringify({ user: `strata_${layer}`, secret: randomBytes(24).toString('hex'), rotatedAt }),
      { mode: 0o600 },
    );
    this.record(layer, 'credentials-rotated', {});
    return { rotatedAt };
  }

  async describe(layer: string): Promise<EnvironmentInfo | null> {
    const state = this.readState(layer);
    return state ? this.info(state) : null;
  }

  /** Releases installed in the environment (every version ever deployed there), oldest first. */
  async releases(layer: string): Promise<Release[]> {
    const state = this.readState(layer);
    if (!state) return [];
    const dir = path.join(this.envDir(layer), 'releases');
    const installed = this.events(layer).filter((e) => e.event === 'release-installed');
    const out: Release[] = [];
    for (const e of installed) {
      const releaseDir = path.join(dir, `${e.version}-${String(e.digest).slice(0, 12)}`);
      if (!fs.existsSync(releaseDir) || out.some((r) => r.digest === e.digest)) continue;
      const serve = Array.isArray(e.serve)
        ? (e.serve as string[])
        : (state.knownGoodHistory?.find((r) => r.digest === e.digest)?.serve ?? []);
      out.push({
        name: String(e.name ?? ''),
        version: String(e.version),
        digest: String(e.digest),
        dir: releaseDir,
        serve,
      });
    }
    return out;
  }

  /** The last known-good release other than the one running now (what a plain rollback returns to). */
  async knownGood(layer: string): Promise<Release | null> {
    const state = this.readState(layer);
    if (!state) return null;
    const history = state.knownGoodHistory ?? (state.knownGood ? [{ ...state.knownGood, at: '' }] : []);
    for (let i = history.length - 1; i >= 0; i--) {
      if (history[i].digest !== state.runningRelease?.digest) {
        const { at: _at, ...release } = history[i];
        return release;
      }
    }
    return null;
  }

  /** The provider's own event log for a layer (one JSON object a line); kept outside the env dir. */
  events(layer: string): Array<{ at: string; event: ProviderEvent; [k: string]: unknown }> {
    const file = path.join(this.envsDir, `${layer}.events.jsonl`);
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  }

  // ---------------------------------------------------------------------------------------------

  /** HOME of the environment's candidate and feature service: the one folder there they may write. */
  private candidateHome(layer: string): string {
    return path.join(this.envDir(layer), 'home');
  }

  private dbPath(layer: string): string {
    return path.join(this.envDir(layer), 'data.db');
  }

  private stateFile(layer: string): string {
    return path.join(this.envDir(layer), 'state.json');
  }

  private readState(layer: string): EnvState | null {
    try {
      return migrateState(JSON.parse(fs.readFileSync(this.stateFile(layer), 'utf8')) as StoredEnvState);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new ProviderError(
        `${this.stateFile(layer)}: unreadable environment state (${(err as Error).message}); ` +
          `run \`strata env repair ${layer}\` to bring it back to a known condition`,
      );
    }
  }

  private mustState(layer: string): EnvState {
    const state = this.readState(layer);
    if (!state) throw new ProviderError(`environment ${layer} is not provisioned (no ${this.stateFile(layer)})`);
    return state;
  }

  private writeState(state: EnvState): void {
    const file = this.stateFile(state.layer);
    writeFileAtomically(file, JSON.stringify(state, null, 2));
  }

  private record(layer: string, event: ProviderEvent, detail: Record<string, unknown>): void {
    fs.mkdirSync(this.envsDir, { recursive: true });
    fs.appendFileSync(
      path.join(this.envsDir, `${layer}.events.jsonl`),
      `${JSON.stringify({ at: new Date().toISOString(), event, ...detail })}\n`,
    );
  }

  private info(state: EnvState): EnvironmentInfo {
    return {
      layer: state.layer,
      dir: this.envDir(state.layer),
      dbPath: this.dbPath(state.layer),
      knownGood: state.knownGood,
      running: state.runningRelease?.version ?? null,
      runningRelease: state.runningRelease,
      url:
        state.port && state.runningRelease
          ? `http://127.0.0.1:${state.database && state.front ? state.front.port : state.port}`
          : null,
      pid: state.pid,
      ...(state.database ? { database: this.describeDatabase(state, state.database) } : {}),
    };
  }

  // --- postgres environments --------------------------------------------------------------------

  /**
   * Creates (or completes) the environment's PostgreSQL database and roles. The names come from
   * the Strata home and the layer, and the passwords are written to database.json (0600) before
   * the server hears of them, so a provision that died half-way converges when it runs again.
   */
  private async provisionDatabase(state: EnvState, adminRef: string): Promise<void> {
    const layer = state.layer;
    const names = databaseNames(this.envsDir, layer);
    if (!state.database || state.database.adminRef !== adminRef) {
      // Recorded before anything is created: a teardown after a crash here knows what to drop.
      state.database = { type: 'postgres', adminRef, names, login: state.database?.login ?? null };
      this.writeState(state);
    }
    const adminUrl = resolveAdminUrl(adminRef);
    let creds = readCredentials(this.envDir(layer));
    if (!creds) {
      creds = {
        adminRef,
        database: names.database,
        owner: names.owner,
        active: 'a',
        roles: {
          a: { name: names.logins.a, password: generatePassword() },
          b: { name: names.logins.b, password: null },
        },
        rotatedAt: new Date().toISOString(),
      };
      writeCredentials(this.envDir(layer), creds);
    } else if (creds.adminRef !== adminRef) {
      creds.adminRef = adminRef;
      writeCredentials(this.envDir(layer), creds);
    }
    const { created } = await ensureEnvironmentDatabase(adminUrl, creds);
    await claimPublicSchema(adminUrl, names.database, names.owner);
    if (created.length) this.record(layer, 'database-provisioned', { database: names.database, created });
  }

  /** A postgres environment's database as recorded in its credentials file (when state.json is lost). */
  private databaseFromCredentials(layer: string): DatabaseState | null {
    let creds: DatabaseCredentials | null = null;
    try {
      creds = readCredentials(this.envDir(layer));
    } catch {
      return null;
    }
    if (!creds) return null;
    return {
      type: 'postgres',
      adminRef: creds.adminRef,
      names: { database: creds.database, owner: creds.owner, logins: { a: creds.roles.a.name, b: creds.roles.b.name } },
    };
  }

  private mustCredentials(layer: string): DatabaseCredentials {
    const creds = readCredentials(this.envDir(layer));
    if (!creds)
      throw new ProviderError(
        `environment ${layer} has a PostgreSQL database but no database.json: run \`strata env repair ${layer}\` and provision again`,
      );
    return creds;
  }

  private candidateDatabaseUrl(state: EnvState, db: DatabaseState, login?: 'a' | 'b'): string {
    const creds = this.mustCredentials(state.layer);
    return connectionUrl(resolveAdminUrl(db.adminRef), creds, login ?? db.login ?? creds.active);
  }

  private describeDatabase(state: EnvState, db: DatabaseState): string {
    try {
      const creds = readCredentials(this.envDir(state.layer));
      if (creds) return redactedUrl(connectionUrl(resolveAdminUrl(db.adminRef), creds, db.login ?? creds.active));
    } catch {
      // the admin URL may not resolve on this machine (a CLI without the worker's environment)
    }
    return `postgres://…/${db.names.database}`;
  }

  /**
   * The URL the environment's candidate connects with (password included): for tests and for
   * operators on the worker's machine. Null for an environment without a PostgreSQL database.
   */
  databaseUrl(layer: string): string | null {
    const state = this.mustState(layer);
    return state.database ? this.candidateDatabaseUrl(state, state.database) : null;
  }

  /** The environment's PostgreSQL database for a DR drill (passwords included), or null. */
  databaseOf(layer: string): DrillDatabase | null {
    const state = this.readState(layer);
    if (!state?.database) return null;
    return {
      kind: 'postgres',
      adminUrl: resolveAdminUrl(state.database.adminRef),
      database: state.database.names.database,
      url: this.candidateDatabaseUrl(state, state.database),
    };
  }

  /**
   * Streams the populated SQLite file's tables into the environment's PostgreSQL database with
   * COPY (nothing for a local environment, and nothing when it holds this very population).
   */
  async syncDatabase(layer: string): Promise<{ tables: Record<string, number>; copied: boolean } | null> {
    const state = this.mustState(layer);
    if (!state.database) return null;
    const dbPath = this.dbPath(layer);
    if (!fs.existsSync(dbPath)) return null;
    const creds = this.mustCredentials(layer);
    const url = connectionUrl(resolveAdminUrl(state.database.adminRef), creds, state.database.login ?? creds.active);
    const result = await copySqliteToPostgres(dbPath, url);
    if (result.copied) this.record(layer, 'database-seeded', { tables: result.tables });
    return { tables: result.tables, copied: result.copied };
  }

  /**
   * Rotates a postgres environment's password without a moment when the candidate's credentials
   * are invalid: the standby login role gets a new password while the running candidate keeps
   * using the active one; the candidate is redeployed with the standby role; only then is the old
   * role's password revoked. Sessions the old process opened end with it.
   */
  private async rotateDatabaseCredentials(state: EnvState, db: DatabaseState): Promise<{ rotatedAt: string }> {
    const layer = state.layer;
    const dir = this.envDir(layer);
    const adminUrl = resolveAdminUrl(db.adminRef);
    const creds = this.mustCredentials(layer);
    const current = db.login ?? creds.active;
    const next = current === 'a' ? 'b' : 'a';
    creds.roles[next].password = generatePassword();
    writeCredentials(dir, creds);
    await setLoginPassword(adminUrl, creds, creds.roles[next].name, creds.roles[next].password);
    creds.active = next;
    writeCredentials(dir, creds);
    this.locateCandidate(state);
    if (state.runningRelease && state.pid) {
      await this.handOver(state, state.runningRelease, next);
    } else {
      db.login = next;
      this.writeState(state);
    }
    creds.roles[current].password = null;
    creds.rotatedAt = new Date().toISOString();
    writeCredentials(dir, creds);
    await setLoginPassword(adminUrl, creds, creds.roles[current].name, null);
    this.record(layer, 'credentials-rotated', { login: next });
    return { rotatedAt: creds.rotatedAt };
  }

  /**
   * Redeploys the running release with the given login role without a failed request: the new
   * process starts beside the old one, the front relays to it once it is healthy, and the old
   * process is stopped after the requests already sent to it have landed. (Without a front, an
   * environment deployed before fronts existed, it is a plain restart on the same address.)
   */
  private async handOver(state: EnvState, release: Release, login: 'a' | 'b'): Promise<void> {
    const old = state.pid && this.ownsCandidate(state) ? this.candidateIdentity(state) : null;
    if (!old || !this.ownsFront(state)) {
      const port = state.port;
      await this.stopProcess(state);
      await this.startProcess(state, release, port ?? undefined, login);
    } else {
      await this.startProcess(state, release, undefined, login);
      await sleep(HANDOVER_GRACE_MS);
      await stopVerified(old);
      this.record(state.layer, 'process-stopped', { pid: old.pid, version: release.version, reason: 'handover' });
    }
    this.record(state.layer, 'restarted', { version: release.version, reason: 'credentials-rotated' });
  }

  private frontUpstreamFile(layer: string): string {
    return path.join(this.envDir(layer), 'front-upstream.json');
  }

  private frontIdentity(state: EnvState): ProcessIdentity {
    return {
      pid: state.front?.pid ?? 0,
      startTime: state.front?.pidStartTime ?? null,
      token: state.token ?? null,
      role: 'front',
    };
  }

  private ownsFront(state: EnvState): boolean {
    return !!state.front?.pid && !!state.token && verifyProcess(this.frontIdentity(state));
  }

  /** Points the front at `upstream`, starting the front first if it does not run (on its old port when free). */
  private async ensureFront(state: EnvState, upstream: number, release: Release): Promise<void> {
    writeFileAtomically(this.frontUpstreamFile(state.layer), JSON.stringify({ port: upstream }));
    if (this.ownsFront(state)) return;
    const previous = state.front?.port;
    const port = previous && (await portFree(previous)) ? previous : await freePort();
    const runAs = candidateUser();
    const logFile = path.join(this.envDir(state.layer), 'front.log');
    const out = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, ['--import', tsxLoaderUrl(), FRONT_SCRIPT], {
      detached: true,
      stdio: ['ignore', out, out],
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      env: childEnvironment(process.env, this.candidateHome(state.layer), {
        PORT: String(port),
        STRATA_FRONT_UPSTREAM_FILE: this.frontUpstreamFile(state.layer),
        STRATA_ENV_DIR: this.envDir(state.layer),
        [PROCESS_TOKEN_ENV]: this.tokenOf(state),
        [PROCESS_ROLE_ENV]: 'front',
      }),
    });
    fs.closeSync(out);
    child.unref();
    state.front = { pid: child.pid ?? 0, port, pidStartTime: child.pid ? (processStartTime(child.pid) ?? null) : null };
    this.writeState(state);
    if (!(await this.waitHealthy(port, release, 20_000))) {
      await this.stopFront(state);
      throw new ProviderError(
        `the front of ${state.layer} did not relay to its candidate on 127.0.0.1:${port}; see ${logFile}`,
      );
    }
    this.record(state.layer, 'front-started', { pid: child.pid, port });
  }

  /** Stops the environment's front: the recorded process if verified, and any other carrying its token. */
  private async stopFront(state: EnvState): Promise<void> {
    const targets = new Map<number, ProcessIdentity>();
    if (this.ownsFront(state)) targets.set(state.front!.pid, this.frontIdentity(state));
    const dir = this.envDir(state.layer);
    for (const p of findProcesses(
      (env) =>
        env.get(PROCESS_ROLE_ENV) === 'front' &&
        ((!!state.token && env.get(PROCESS_TOKEN_ENV) === state.token) || env.get('STRATA_ENV_DIR') === dir),
    ))
      targets.set(p.pid, p);
    for (const id of targets.values()) {
      await stopVerified(id);
      this.record(state.layer, 'front-stopped', { pid: id.pid });
    }
  }

  /**
   * Installs the candidate from its artifact store entry into releases/<version>-<digest>, once.
   * The store entry is verified on every deploy, and so is the release directory, new or reused:
   * nothing starts from files that differ from what was promoted. The candidate's own directory
   * (`candidate.dir`) is never read.
   */
  private async installRelease(layer: string, candidate: CandidateRef): Promise<Release> {
    const dir = path.join(this.envDir(layer), 'releases', `${candidate.version}-${candidate.digest.slice(0, 12)}`);
    const release: Release = {
      name: candidate.name,
      version: candidate.version,
      digest: candidate.digest,
      dir,
      serve: candidate.serve,
    };
    const entry = artifactEntryDir(this.artifactsDir, candidate.digest);
    if (!fs.existsSync(entry)) throw new ArtifactMissingError(entry, candidate.digest);
    await this.verified(layer, () => verifyDirectory(entry, candidate.digest));
    if (fs.existsSync(dir)) {
      await this.verifyRelease(layer, release);
      return release;
    }
    const tmp = fs.mkdtempSync(path.join(this.envDir(layer), 'releases', '.install-'));
    try {
      fs.cpSync(entry, tmp, { recursive: true });
      // The copy is checked too: the entry could change between its check and the copy.
      await this.verified(layer, () => verifyDirectory(tmp, candidate.digest));
      // The store's copy is read-only; the release stays removable with the environment.
      makeWritable(tmp);
      fs.renameSync(tmp, dir);
    } finally {
      if (fs.existsSync(tmp)) removeSealedTree(tmp);
    }
    this.record(layer, 'release-installed', {
      name: candidate.name,
      version: candidate.version,
      digest: candidate.digest,
      serve: candidate.serve,
    });
    return release;
  }

  /** Throws ArtifactTamperedError (and records it) unless the release directory matches its digest. */
  private async verifyRelease(layer: string, release: Release): Promise<void> {
    await this.verified(layer, () => verifyDirectory(release.dir, release.digest));
  }

  /** Runs a verification; a mismatch is recorded in the event log before it is thrown. */
  private async verified(layer: string, check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (error) {
      if (error instanceof ArtifactTamperedError) {
        this.record(layer, 'artifact-tampered', { where: error.where, expected: error.expected, found: error.found });
      }
      throw error;
    }
  }

  /** Starts the environment's dependency if it is not running; returns the URL the candidate uses. */
  async ensureDependency(layer: string): Promise<{ featuresUrl: string; proxyApiUrl: string; started: string[] }> {
    return this.ensureDependencyOf(this.mustState(layer));
  }

  private async ensureDependencyOf(
    state: EnvState,
  ): Promise<{ featuresUrl: string; proxyApiUrl: string; started: string[] }> {
    const layer = state.layer;
    const runAs = candidateUser();
    const home = this.candidateHome(layer);
    prepareSandbox({
      runAs,
      strataHome: this.home,
      reach: [this.envDir(layer)],
      readable: fs.existsSync(this.dbPath(layer)) ? [this.dbPath(layer)] : [],
      home,
    });
    const { dep, started } = await ensureDependency({
      current: state.dependency,
      dbPath: this.dbPath(layer),
      dir: this.envDir(layer),
      freePort,
      runAs,
      home,
      token: this.tokenOf(state),
    });
    state.dependency = dep;
    this.writeState(state);
    if (started.length) this.record(layer, 'dependency-started', { started });
    return { featuresUrl: featuresUrl(dep), proxyApiUrl: proxyApiUrl(dep), started };
  }

  /** The dependency's addresses, when it was started. */
  dependency(layer: string): { featuresUrl: string; proxyApiUrl: string } | null {
    const dep = this.readState(layer)?.dependency;
    return dep ? { featuresUrl: featuresUrl(dep), proxyApiUrl: proxyApiUrl(dep) } : null;
  }

  private async startProcess(
    state: EnvState,
    release: Release,
    preferredPort?: number,
    login?: 'a' | 'b',
  ): Promise<void> {
    if (state.database) login ??= state.database.login ?? this.mustCredentials(state.layer).active;
    const deps = await this.ensureDependencyOf(state);
    const port = preferredPort && (await portFree(preferredPort)) ? preferredPort : await freePort();
    const logFile = path.join(this.envDir(state.layer), 'candidate.log');
    rotateLog(logFile, this.logMaxBytes, this.logKeep);
    // Run as an unprivileged user when Strata is root, with nothing of the worker's environment
    // but what the allow-list passes: no keyring path, no Temporal token (see src/providers/sandbox.ts).
    const runAs = candidateUser();
    const home = this.candidateHome(state.layer);
    prepareSandbox({
      runAs,
      strataHome: this.home,
      reach: [this.envDir(state.layer)],
      readable: [release.dir],
      home,
    });
    const out = fs.openSync(logFile, 'a');
    const [cmd, ...args] = release.serve;
    const child = spawn(cmd === 'node' ? process.execPath : cmd, args, {
      cwd: release.dir,
      detached: true, // its own process group: it outlives the worker that started it
      stdio: ['ignore', out, out],
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      env: childEnvironment(process.env, home, {
        HOST: '127.0.0.1',
        PORT: String(port),
        STRATA_DB_PATH: this.dbPath(state.layer),
        ...(state.database ? { DATABASE_URL: this.candidateDatabaseUrl(state, state.database, login) } : {}),
        STRATA_LAYER: state.layer,
        STRATA_VERSION: release.version,
        FEATURES_URL: deps.featuresUrl,
        STRATA_ENV_DIR: this.envDir(state.layer),
        [PROCESS_TOKEN_ENV]: this.tokenOf(state),
        [PROCESS_ROLE_ENV]: 'candidate',
      }),
    });
    fs.closeSync(out);
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.unref();
    this.watchLog(logFile);
    // Recorded before waiting for health: a retry after a crash finds this process, not a new one.
    state.runningRelease = release;
    state.pid = child.pid ?? null;
    state.pidStartTime = child.pid ? (processStartTime(child.pid) ?? null) : null;
    state.port = port;
    if (state.database) state.database.login = login ?? null;
    this.writeState(state);
    this.record(state.layer, 'process-started', { version: release.version, pid: child.pid, port });
    // Whichever comes first; none of them throws, so a later exit is no unhandled rejection.
    const outcome = await Promise.race([
      this.waitHealthy(port, release, this.opts.healthTimeoutMs ?? 20_000).then((ok) => ({
        kind: 'health' as const,
        ok,
      })),
      spawnError.then((err) => ({ kind: 'spawn-error' as const, err })),
      exited.then((e) => ({ kind: 'exited' as const, ...e })),
    ]);
    if (outcome.kind === 'spawn-error')
      throw new ProviderError(`cannot start ${release.serve.join(' ')} in ${release.dir}: ${outcome.err.message}`);
    if (outcome.kind === 'exited') {
      // A candidate that exits is reported at once, with its exit code. Its last words stay in its
      // log on this machine: the message becomes an activity failure in the workflow history, and a
      // candidate's output may hold a data row (a record it failed on), which never leaves the worker.
      state.pid = null;
      state.pidStartTime = null;
      state.runningRelease = null;
      state.port = null;
      this.writeState(state);
      this.record(state.layer, 'process-exited', { pid: child.pid, exitCode: outcome.code, signal: outcome.signal });
      // The address it was to keep was free when checked, but another process took it before the
      // candidate listened (a supervisor's restart races every bind on the machine): start it on a
      // fresh port rather than fail the layer. Only the port is looked at, never the log.
      if (preferredPort === port && !(await portFree(port))) {
        this.record(state.layer, 'port-taken', { port });
        return this.startProcess(state, release, undefined, login);
      }
      throw new ProviderError(
        `${release.name} ${release.version} exited ${outcome.signal ? `on ${outcome.signal}` : `with code ${outcome.code}`} before becoming healthy; ` +
          `its output is in ${logFile} on the worker's machine (not copied here: it may hold data)`,
      );
    }
    const healthy = outcome.ok;
    if (!healthy) {
      await this.stopProcess(state);
      throw new ProviderError(
        `${release.name} ${release.version} did not become healthy on 127.0.0.1:${port}; see ${logFile}`,
      );
    }
    // A postgres environment's clients use its front: from now on it relays to this process.
    if (state.database) await this.ensureFront(state, port, release);
  }

  /**
   * Stops the environment's candidate: the recorded process if it is verified as this
   * environment's (pid, start time and token), and any other process carrying the environment's
   * token as its candidate (an orphan). A process that is not verified is never signalled.
   */
  private async stopProcess(state: EnvState, opts: { write?: boolean } = {}): Promise<void> {
    const targets = new Map<number, ProcessIdentity>();
    if (state.pid && this.ownsCandidate(state)) targets.set(state.pid, this.candidateIdentity(state));
    for (const p of this.candidateProcesses(state)) targets.set(p.pid, p);
    for (const id of targets.values()) {
      await stopVerified(id);
      this.record(state.layer, 'process-stopped', { pid: id.pid, version: state.runningRelease?.version });
    }
    state.pid = null;
    state.pidStartTime = null;
    state.port = null;
    state.runningRelease = null;
    if (opts.write !== false) this.writeState(state);
  }

  /** The environment's token (made on first use: environments from before tokens get one now). */
  private tokenOf(state: EnvState): string {
    state.token ??= randomBytes(16).toString('hex');
    return state.token;
  }

  private candidateIdentity(state: EnvState): ProcessIdentity {
    return {
      pid: state.pid ?? 0,
      startTime: state.pidStartTime ?? null,
      token: state.token ?? null,
      role: 'candidate',
    };
  }

  /**
   * Whether the recorded pid is this environment's candidate. State written before tokens has no
   * start time or token: then the process must at least carry this environment's database path.
   */
  private ownsCandidate(state: EnvState): boolean {
    if (!state.pid) return false;
    if (state.token && state.pidStartTime != null) return verifyProcess(this.candidateIdentity(state));
    const env = processEnviron(state.pid);
    return env?.get('STRATA_DB_PATH') === this.dbPath(state.layer) && env.has('STRATA_VERSION');
  }

  /**
   * Whether a candidate may be running: one recorded, or any process carrying the environment's
   * token or directory as its candidate. An attempt killed after starting its process but before
   * recording it leaves one that state.json does not name; the next deploy or rollback stops it
   * rather than starting a second beside it (the hour-long soak found one).
   */
  private anyCandidate(state: EnvState): boolean {
    return !!state.pid || this.candidateProcesses(state).length > 0;
  }

  /** Live processes started as this environment's candidate (by token, or by its directory when the token is lost). */
  private candidateProcesses(state: EnvState): ProcessIdentity[] {
    const dir = this.envDir(state.layer);
    return findProcesses(
      (env) =>
        env.get(PROCESS_ROLE_ENV) === 'candidate' &&
        ((!!state.token && env.get(PROCESS_TOKEN_ENV) === state.token) || env.get('STRATA_ENV_DIR') === dir),
    );
  }

  /**
   * Makes `state.pid` the real candidate or nothing: a recorded pid that is not verified (reused
   * after a reboot, or written by someone else) is dropped, never signalled, and the process
   * carrying the environment's token, if one runs, is adopted instead.
   */
  private locateCandidate(state: EnvState): void {
    if (!state.pid || this.ownsCandidate(state)) return;
    const stale = state.pid;
    const [found] = this.candidateProcesses(state).filter((p) => p.token === state.token);
    if (found) {
      state.pid = found.pid;
      state.pidStartTime = found.startTime;
      this.writeState(state);
      this.record(state.layer, 'process-found', { pid: found.pid, recorded: stale });
      return;
    }
    this.record(state.layer, 'process-unverified', { pid: stale });
    state.pid = null;
    state.pidStartTime = null;
    state.port = null;
    this.writeState(state);
  }

  private async waitHealthy(port: number, release: Release, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    do {
      try {
        const res = await request(`http://127.0.0.1:${port}/health`, { headersTimeout: 1000, bodyTimeout: 1000 });
        const body = (await res.body.json()) as { version?: string };
        if (res.statusCode === 200 && body.version === release.version) return true;
      } catch {
        // not up yet
      }
      await sleep(100);
    } while (Date.now() < deadline);
    return false;
  }
}

/**
 * state.json as written by any version: before the names settled, the known-good release was
 * `promoted` (with `promotedHistory`), the running release was `running`, and the built-in
 * population was `seed`.
 */
type StoredEnvState = Omit<EnvState, 'population' | 'knownGood' | 'runningRelease'> &
  Partial<Pick<EnvState, 'population' | 'knownGood' | 'runningRelease'>> & {
    promoted?: Release | null;
    promotedHistory?: Array<Release & { at: string }>;
    running?: Release | null;
    seed?: (SeedSpec & { rows: number }) | null;
  };

/** Reads old names into new ones; the next write stores only the new names. */
function migrateState(stored: StoredEnvState): EnvState {
  const { promoted, promotedHistory, running, seed, ...state } = stored;
  return {
    ...state,
    population: state.population ?? seed ?? null,
    knownGood: state.knownGood ?? promoted ?? null,
    knownGoodHistory: state.knownGoodHistory ?? promotedHistory,
    runningRelease: state.runningRelease ?? running ?? null,
  };
}

/** Gives the owner write access to a copied tree again (the store's files are read-only). */
function makeWritable(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) makeWritable(full);
    else fs.chmodSync(full, 0o644);
  }
}

/** SIGKILLs a verified process's group and waits until its leader is gone. */
async function killProcessTree(id: ProcessIdentity, what: string): Promise<void> {
  signalVerified(id, 'SIGKILL');
  if (!(await waitForVerifiedExit(id, 5_000)))
    throw new ProviderError(`${what} (pid ${id.pid}) survived SIGKILL for 5 s`);
}

function positiveEnv(name: string): number | undefined {
  const n = Number(process.env[name]);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Rotates `file` when it is larger than `maxBytes`: file.N-1 → file.N, …, a copy of file →
 * file.1, then file is truncated in place (copy-truncate: the candidate keeps writing to the same
 * open file, which appends at the new end). At most `keep` rotated files are kept.
 */
export function rotateLog(file: string, maxBytes: number, keep: number): boolean {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  for (let i = keep - 1; i >= 1; i--) {
    if (fs.existsSync(`${file}.${i}`)) fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  }
  fs.copyFileSync(file, `${file}.1`);
  fs.truncateSync(file, 0);
  fs.rmSync(`${file}.${keep + 1}`, { force: true });
  return true;
}

/** The last `n` lines of a text file (reading at most its last 64 KiB). */
export function lastLines(file: string, n: number): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8').replace(/\n$/, '').split('\n').slice(-n).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

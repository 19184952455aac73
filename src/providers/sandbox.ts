// What a candidate (and an environment's feature-lookup service) runs with: an allow-listed
// environment, never the worker's, and — when Strata runs as root — an unprivileged user of its
// own, so it cannot read the masking keyring, the cluster's signing key and tokens, an
// environment's credentials or the worker's /proc/<pid>/environ.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tracingEnvironment } from '../tracing/settings';

/** The system user candidates run as when Strata runs as root (STRATA_CANDIDATE_USER names another). */
export const DEFAULT_CANDIDATE_USER = 'strata-candidate';

/** The only variables taken from the worker's environment, when set there. */
export const INHERITED_VARIABLES = ['PATH', 'LANG', 'LC_ALL', 'TZ'] as const;

export class SandboxError extends Error {
  override name = 'SandboxError';
}

/** A user a child process runs as. */
export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

/**
 * The environment of a process Strata starts for an environment: `PATH`, `LANG`, `LC_ALL` and
 * `TZ` from the worker (when set), `HOME` = `home`, and the variables Strata hands it (`given`).
 * Nothing else of the worker's environment: no `STRATA_*` (the keyring path, Temporal tokens),
 * no `TEMPORAL_*`, no `NODE_OPTIONS`, no cloud or database credentials. With tracing on, the
 * OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`) so the process continues traces; never
 * `OTEL_EXPORTER_OTLP_HEADERS`, which may hold a collector's credentials.
 */
export function childEnvironment(
  worker: NodeJS.ProcessEnv,
  home: string,
  given: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_VARIABLES) {
    const value = worker[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...tracingEnvironment(worker), HOME: home, ...given };
}

let cachedUser: { name: string; runAs: RunAs } | undefined;

/**
 * The user candidates run as: null unless this process runs as root (a candidate then runs as
 * the worker's own user, as before). As root, the system user `strata-candidate` (or
 * STRATA_CANDIDATE_USER), created on first use with
 * `useradd --system --no-create-home --shell /usr/sbin/nologin`. Refuses to run candidates as root.
 */
export function candidateUser(env: NodeJS.ProcessEnv = process.env): RunAs | null {
  if (process.getuid?.() !== 0) return null;
  const name = env.STRATA_CANDIDATE_USER?.trim() || DEFAULT_CANDIDATE_USER;
  if (cachedUser?.name === name) return cachedUser.runAs;
  if (!/^[a-z_][a-z0-9_-]*\$?$/.test(name) || name.length > 32)
    throw new SandboxError(`STRATA_CANDIDATE_USER=${name}: not a valid user name (lowercase letters, digits, - and _)`);
  let found = lookupUser(name);
  if (!found) {
    const args = ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name];
    try {
      execFileSync('useradd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      found = lookupUser(name); // another worker created it meanwhile
      if (!found) {
        const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
        throw new SandboxError(
          `cannot create the user candidates run as: \`useradd ${args.join(' ')}\` failed` +
            `${stderr ? ` (${stderr})` : ` (${(err as Error).message})`}; create it yourself, or name an existing ` +
            `unprivileged user in STRATA_CANDIDATE_USER`,
        );
      }
    }
    found ??= lookupUser(name);
    if (!found)
      throw new SandboxError(`\`useradd ${args.join(' ')}\` succeeded but ${name} is not in the user database`);
  }
  if (found.uid === 0 || found.gid === 0)
    throw new SandboxError(`STRATA_CANDIDATE_USER=${name} has uid or gid 0; candidates must not run as root`);
  cachedUser = { name, runAs: found };
  return found;
}

function lookupUser(name: string): RunAs | null {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null; // exit 2: no such user
  }
  const [, , uid, gid] = line.trim().split(':');
  const parsed = { user: name, uid: Number(uid), gid: Number(gid) };
  return Number.isInteger(parsed.uid) && Number.isInteger(parsed.gid) ? parsed : null;
}

/**
 * Prepares what a process running as `runAs` must reach, and nothing more:
 * - traversal (`o+x`, not listing) of the folders from `strataHome` down to each of `reach`
 *   (the environment's folder, the release directory), and a check that the folders above
 *   `strataHome` are traversable already (Strata changes no folder it does not own);
 * - read access for others to the `readable` trees (the release directory);
 * - `home`, made and owned by `runAs` (mode 700): its HOME, the one place it may write;
 * - the other entries of `strataHome` (temporal.db, data/, runs/, drills/, cluster/) closed to others.
 * Secrets keep their modes (600 files, 700 folders); that is what keeps them from the candidate.
 * Without `runAs` (Strata is not root) it only makes `home`.
 */
export function prepareSandbox(opts: {
  runAs: RunAs | null;
  strataHome: string;
  reach: string[];
  readable: string[];
  home: string;
}): void {
  fs.mkdirSync(opts.home, { recursive: true, mode: 0o700 });
  if (!opts.runAs) return;
  const strataHome = path.resolve(opts.strataHome);
  for (const target of [...opts.reach, ...opts.readable, opts.home]) {
    for (let dir = path.dirname(path.resolve(target)); ; dir = path.dirname(dir)) {
      if (isInside(dir, strataHome)) addMode(dir, 0o001);
      else if (!(fs.statSync(dir).mode & 0o001))
        throw new SandboxError(
          `${dir} is not traversable by others (mode ${modeOf(dir)}), so candidates running as ${opts.runAs.user} ` +
            `cannot reach ${target}; run \`chmod o+x ${dir}\` or choose a STRATA_HOME outside it`,
        );
      if (dir === path.dirname(dir)) break;
    }
  }
  for (const target of opts.reach) addMode(target, 0o001);
  for (const tree of opts.readable) grantRead(tree);
  // $STRATA_HOME is now traversable: what else lies in it (temporal.db with every history, the
  // approvals registry, runs, drills, the cluster's keys) is closed to others, so a candidate
  // that guesses a name reads nothing there.
  const onTheWay = new Set(
    [...opts.reach, ...opts.readable, opts.home]
      .map((target) => path.relative(strataHome, path.resolve(target)).split(path.sep)[0])
      .filter(Boolean),
  );
  for (const entry of fs.readdirSync(strataHome)) {
    if (!onTheWay.has(entry)) removeMode(path.join(strataHome, entry), 0o007);
  }
  fs.chownSync(opts.home, opts.runAs.uid, opts.runAs.gid);
  fs.chmodSync(opts.home, 0o700);
}

function isInside(dir: string, root: string): boolean {
  const relative = path.relative(root, dir);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Adds read for others to every file and read+traverse to every folder under `root`. */
function grantRead(root: string): void {
  const stat = fs.lstatSync(root);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    addMode(root, 0o005);
    for (const entry of fs.readdirSync(root)) grantRead(path.join(root, entry));
  } else {
    addMode(root, 0o004);
  }
}

function addMode(file: string, bits: number): void {
  const mode = fs.statSync(file).mode & 0o7777;
  if ((mode & bits) !== bits) fs.chmodSync(file, mode | bits);
}

function removeMode(file: string, bits: number): void {
  const stat = fs.lstatSync(file);
  if (stat.isSymbolicLink()) return;
  if (stat.mode & bits) fs.chmodSync(file, stat.mode & 0o7777 & ~bits);
}

function modeOf(file: string): string {
  return (fs.statSync(file).mode & 0o777).toString(8).padStart(3, '0');
}

// Finding or building the external Go tools Strata drives (the Temporal CLI, Toxiproxy, the test
// OpenID provider): each is built once per machine with `go install <module>@<pinned version>` (or,
// for a small main package kept in this repo, `go build` in its own module, its dependencies pinned
// by that go.mod/go.sum) into ~/.cache/strata/<tool>/<version>/ (or $XDG_CACHE_HOME/strata/…),
// shared by every checkout.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processAlive } from './processes';

export { processAlive };

/** ~/.cache/strata (or $XDG_CACHE_HOME/strata): builds shared by every checkout on this machine. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.length > 0 ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'strata');
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first executable `name` in the directories of env.PATH. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** `go` on PATH, or the standard /usr/local/go install. */
export function findGo(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return onPath('go', env) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/** One Go tool as `go install` builds it. */
export interface GoTool {
  /** Directory under the cache: `temporal`, `toxiproxy`. */
  tool: string;
  /** For people: "the Temporal CLI", "Toxiproxy". */
  label: string;
  /** Pinned version without the leading v. */
  version: string;
  /** The package path for `go install`, without @version (with moduleDir: for messages only). */
  pkg: string;
  /** The file `go install` writes into GOBIN (the last element of the package path). */
  binary: string;
  /** Appended to every error: how to get the tool without Strata building it. */
  installHint: string;
  /** The error type callers catch for this tool. */
  makeError: (message: string) => Error;
  /** An environment variable naming a build to use instead (TEMPORAL_CLI, TOXIPROXY_SERVER). */
  overrideVar?: string;
  /** A command name to look for on PATH before the cache (`temporal`, `toxiproxy-server`). */
  onPathName?: string;
  /**
   * A Go module (a directory with go.mod) that pins the tool with a `tool` directive
   * (`go get -tool pkg@version`): the tool is built there with `go build`, for modules that
   * `go install pkg@version` refuses (their go.mod has replace directives, as Jaeger's does), or
   * a module of our own whose main package is the tool (its version then names the sources).
   */
  moduleDir?: string;
  /** With moduleDir: the package `go build` builds there (default `.`, the module's own main package). */
  buildPackage?: string;
}

export interface GoInstallOptions {
  env?: NodeJS.ProcessEnv;
  /** Progress lines for people (default: stderr). */
  progress?: (line: string) => void;
  /** The go binary; default findGo(env). null: build nothing (as if Go were not installed). */
  go?: string | null;
}

/** Where the built tool lives: <cache>/<tool>/<version>/<binary>. */
export function cachedToolPath(tool: GoTool, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), tool.tool, tool.version, tool.binary);
}

/**
 * The tool if one is already here: the override variable (which must name an executable), then
 * the command on PATH, then Strata's cached build. Builds nothing.
 */
export function findGoTool(tool: GoTool, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = tool.overrideVar ? env[tool.overrideVar] : undefined;
  if (override) {
    if (!isExecutable(override)) throw tool.makeError(`${tool.overrideVar}=${override} is not an executable file`);
    return override;
  }
  const cached = cachedToolPath(tool, env);
  return (tool.onPathName ? onPath(tool.onPathName, env) : undefined) ?? (isExecutable(cached) ? cached : undefined);
}

/**
 * Returns the cached build of `tool`, building it once with `go install` when there is none.
 * The build goes to a temporary GOBIN and is renamed into place, so an interrupted build leaves
 * nothing half-written; a lock directory keeps two processes from building at once.
 */
export async function goInstallCached(tool: GoTool, opts: GoInstallOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const progress = opts.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const target = cachedToolPath(tool, env);
  if (isExecutable(target)) return target;

  const go = opts.go === undefined ? findGo(env) : (opts.go ?? undefined);
  if (!go) throw tool.makeError(`Cannot find ${tool.label}, and Go is not installed to build it. ${tool.installHint}`);

  const versionDir = path.dirname(target);
  fs.mkdirSync(versionDir, { recursive: true });
  const lock = path.join(versionDir, '.lock');
  await acquireLock(lock, tool.label, progress);
  try {
    if (isExecutable(target)) return target; // another process built it while we waited
    const gobin = fs.mkdtempSync(path.join(versionDir, '.build-'));
    const pkg = `${tool.pkg}@v${tool.version}`;
    const buildTarget = tool.buildPackage ?? '.';
    const args = tool.moduleDir
      ? ['build', '-v', '-o', path.join(gobin, tool.binary), buildTarget]
      : ['install', '-v', pkg];
    const how = tool.moduleDir ? `go build ${buildTarget}` : `go install ${pkg}`;
    const where = tool.moduleDir ? ` in ${tool.moduleDir}` : '';
    progress(`strata: building ${tool.label} v${tool.version} once with \`${how}\`${where}`);
    progress(`strata: into ${versionDir}; this takes a few minutes the first time.`);
    const started = Date.now();
    let code: number;
    try {
      code = await runGo(
        go,
        args,
        tool.moduleDir,
        { ...env, GOBIN: gobin, GOFLAGS: env.GOFLAGS ?? '' },
        started,
        progress,
      );
    } catch (err) {
      fs.rmSync(gobin, { recursive: true, force: true });
      throw tool.makeError(`cannot run ${go}: ${(err as Error).message}. ${tool.installHint}`);
    }
    const built = path.join(gobin, tool.binary);
    if (code !== 0 || !isExecutable(built)) {
      fs.rmSync(gobin, { recursive: true, force: true });
      const why = code !== 0 ? `exit ${code}` : `it wrote no ${tool.binary} into GOBIN`;
      throw tool.makeError(`${how}${where} failed (${why}). ${tool.installHint}`);
    }
    fs.renameSync(built, target);
    fs.rmSync(gobin, { recursive: true, force: true });
    progress(`strata: ${tool.label} built in ${Math.round((Date.now() - started) / 1000)}s: ${target}`);
    return target;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** `go install -v pkg` (or `go build -v` in a tools module), turning its output into a few progress lines; resolves with the exit code. */
function runGo(
  go: string,
  args: string[],
  cwd: string | undefined,
  env: NodeJS.ProcessEnv,
  started: number,
  progress: (line: string) => void,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const child = spawn(go, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let built = 0;
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        if (line.startsWith('go: downloading')) progress(`strata:   ${line}`);
        else if (++built % 50 === 0) {
          progress(`strata:   compiled ${built} packages (${Math.round((Date.now() - started) / 1000)}s)…`);
        }
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (c) => {
      if (c !== 0) progress(tail.join('\n'));
      resolve(c ?? 1);
    });
  });
}

async function acquireLock(lock: string, label: string, progress: (line: string) => void): Promise<void> {
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readOr(path.join(lock, 'pid'), '0'));
      if (holder > 0 && !processAlive(holder)) {
        fs.rmSync(lock, { recursive: true, force: true }); // stale lock of a killed build
        continue;
      }
      if (!announced) progress(`strata: waiting for another process (pid ${holder}) building ${label}…`);
      announced = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

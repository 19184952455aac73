import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cacheDir, TEMPORAL_CLI_VERSION } from './settings';

export class TemporalCliError extends Error {
  override name = 'TemporalCliError';
}

const INSTALL_HINT =
  'Install the Temporal CLI (https://docs.temporal.io/cli#install) and put `temporal` on PATH, ' +
  'or set TEMPORAL_CLI to its path, or install Go (https://go.dev/dl/) so Strata can build it, ' +
  'or set TEMPORAL_ADDRESS to a running Temporal server.';

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export function cachedCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'temporal', TEMPORAL_CLI_VERSION, 'temporal');
}

/** The Temporal CLI if one is already here: TEMPORAL_CLI, then `temporal` on PATH, then the cache. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEMPORAL_CLI) {
    if (!isExecutable(env.TEMPORAL_CLI)) {
      throw new TemporalCliError(`TEMPORAL_CLI=${env.TEMPORAL_CLI} is not an executable file`);
    }
    return env.TEMPORAL_CLI;
  }
  return onPath('temporal', env) ?? (isExecutable(cachedCliPath(env)) ? cachedCliPath(env) : undefined);
}

/**
 * Finds the Temporal CLI, building it once with `go install` into the cache when there is none.
 * The build goes to a temporary GOBIN and is renamed into place, so an interrupted build leaves
 * nothing half-written; a lock directory keeps two processes from building at once.
 */
export async function ensureTemporalCli(
  opts: { env?: NodeJS.ProcessEnv; progress?: (line: string) => void } = {},
): Promise<string> {
  const env = opts.env ?? process.env;
  const progress = opts.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const found = findTemporalCli(env);
  if (found) return found;

  const go = onPath('go', env) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) throw new TemporalCliError(`No Temporal CLI found and Go is not installed to build one. ${INSTALL_HINT}`);

  const target = cachedCliPath(env);
  const versionDir = path.dirname(target);
  fs.mkdirSync(versionDir, { recursive: true });
  const lock = path.join(versionDir, '.lock');
  await acquireLock(lock, progress);
  try {
    if (isExecutable(target)) return target; // another process built it while we waited
    const gobin = fs.mkdtempSync(path.join(versionDir, '.build-'));
    const pkg = `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;
    progress(`strata: building the Temporal CLI v${TEMPORAL_CLI_VERSION} once with \`go install ${pkg}\``);
    progress(`strata: into ${versionDir}; this takes a few minutes the first time.`);
    const started = Date.now();
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(go, ['install', '-v', pkg], {
        env: { ...env, GOBIN: gobin, GOFLAGS: env.GOFLAGS ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
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
      const tail: string[] = [];
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('close', (c) => {
        if (c !== 0) progress(tail.join('\n'));
        resolve(c ?? 1);
      });
    });
    if (code !== 0) {
      fs.rmSync(gobin, { recursive: true, force: true });
      throw new TemporalCliError(`go install ${pkg} failed (exit ${code}). ${INSTALL_HINT}`);
    }
    fs.renameSync(path.join(gobin, 'temporal'), target);
    fs.rmSync(gobin, { recursive: true, force: true });
    progress(`strata: Temporal CLI built in ${Math.round((Date.now() - started) / 1000)}s: ${target}`);
    return target;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

async function acquireLock(lock: string, progress: (line: string) => void): Promise<void> {
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
      if (!announced) progress(`strata: waiting for another process (pid ${holder}) building the Temporal CLI…`);
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

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `temporal --version`, for diagnostics. */
export function temporalCliVersion(cli: string): string {
  const out = spawnSync(cli, ['--version'], { encoding: 'utf8' });
  return (out.stdout ?? '').trim();
}

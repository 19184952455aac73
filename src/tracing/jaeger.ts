// Jaeger (https://www.jaegertracing.io), the trace collector and UI Strata's trace tests run
// against: built once per machine from the Go module proxy into ~/.cache/strata/jaeger/<version>/,
// and started as an all-in-one process with in-memory storage on ports of the caller's choosing.
//
// `go install github.com/jaegertracing/jaeger/cmd/jaeger@v1.75.0` refuses (Jaeger's go.mod has
// replace directives), so the version is pinned by a `tool` directive in tools/jaeger/go.mod
// (`go get -tool …@v1.75.0`) and built there with `go build`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cachedToolPath, findGoTool, type GoInstallOptions, type GoTool, goInstallCached } from '../tools/go-install';
import { waitForExit } from '../tools/processes';

export const JAEGER_VERSION = '1.75.0';

/** The Go module that pins Jaeger (tools/jaeger in this repository). */
export const JAEGER_MODULE_DIR = path.resolve(__dirname, '../../tools/jaeger');

export class JaegerError extends Error {
  override name = 'JaegerError';
}

const JAEGER: GoTool = {
  tool: 'jaeger',
  label: 'Jaeger',
  version: JAEGER_VERSION,
  pkg: 'github.com/jaegertracing/jaeger/cmd/jaeger',
  binary: 'jaeger',
  installHint:
    `Download Jaeger v${JAEGER_VERSION} (https://www.jaegertracing.io/download/) and set JAEGER_BINARY to its ` +
    '`jaeger` binary, or install Go (https://go.dev/dl/) so Strata can build it from tools/jaeger.',
  makeError: (message) => new JaegerError(message),
  overrideVar: 'JAEGER_BINARY',
  moduleDir: JAEGER_MODULE_DIR,
  buildPackage: 'github.com/jaegertracing/jaeger/cmd/jaeger',
};

/** Where Strata's own build lives: ~/.cache/strata/jaeger/<version>/jaeger. */
export function cachedJaegerPath(env: NodeJS.ProcessEnv = process.env): string {
  return cachedToolPath(JAEGER, env);
}

/** Jaeger if already here (JAEGER_BINARY, then the cache); builds nothing. */
export function findJaeger(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findGoTool(JAEGER, env);
}

/** Finds Jaeger, building it once (a few minutes, CPU heavy) when there is none; progress goes to stderr. */
export async function ensureJaeger(opts: GoInstallOptions = {}): Promise<string> {
  return findJaeger(opts.env ?? process.env) ?? goInstallCached(JAEGER, opts);
}

export interface StartJaegerOptions {
  /** OTLP over HTTP (spans in): Jaeger's default 4318. */
  otlpHttpPort: number;
  /** The UI and its query API (/api/traces): Jaeger's default 16686. */
  queryPort: number;
  /** The query gRPC API (Jaeger's default 16685); unused by Strata, but it must not collide. */
  queryGrpcPort: number;
  /** The config file and the log go here. */
  dir: string;
  binary?: string;
  /** How long to wait for the query API. Default 30 s. */
  timeoutMs?: number;
}

export interface RunningJaeger {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT: http://127.0.0.1:<otlpHttpPort>. */
  otlpEndpoint: string;
  /** The UI and query API base, for STRATA_TRACE_URL: http://127.0.0.1:<queryPort>. */
  queryUrl: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * The all-in-one configuration with only what Strata needs: OTLP/HTTP in, memory storage, the
 * query API and UI; no other receivers, and the collector's own telemetry off (no fixed ports).
 */
export function jaegerConfig(opts: Pick<StartJaegerOptions, 'otlpHttpPort' | 'queryPort' | 'queryGrpcPort'>): string {
  return [
    'service:',
    '  extensions: [jaeger_storage, jaeger_query]',
    '  pipelines:',
    '    traces:',
    '      receivers: [otlp]',
    '      processors: [batch]',
    '      exporters: [jaeger_storage_exporter]',
    '  telemetry:',
    '    metrics:',
    '      level: none',
    '    logs:',
    '      level: warn',
    'extensions:',
    '  jaeger_query:',
    '    storage:',
    '      traces: memstore',
    '    http:',
    `      endpoint: 127.0.0.1:${opts.queryPort}`,
    '    grpc:',
    `      endpoint: 127.0.0.1:${opts.queryGrpcPort}`,
    '  jaeger_storage:',
    '    backends:',
    '      memstore:',
    '        memory:',
    '          max_traces: 100000',
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http:',
    `        endpoint: 127.0.0.1:${opts.otlpHttpPort}`,
    'processors:',
    '  batch:',
    'exporters:',
    '  jaeger_storage_exporter:',
    '    trace_storage: memstore',
    '',
  ].join('\n');
}

/** Starts Jaeger all-in-one and waits until its query API answers. */
export async function startJaeger(opts: StartJaegerOptions): Promise<RunningJaeger> {
  const binary = opts.binary ?? (await ensureJaeger());
  fs.mkdirSync(opts.dir, { recursive: true });
  const config = path.join(opts.dir, 'jaeger.yaml');
  fs.writeFileSync(config, jaegerConfig(opts));
  const logFile = path.join(opts.dir, 'jaeger.log');
  const log = fs.openSync(logFile, 'a');
  // Jaeger would trace itself to localhost:4317 (the OTLP default): not here.
  const env: NodeJS.ProcessEnv = { ...process.env, OTEL_SDK_DISABLED: 'true', OTEL_TRACES_SAMPLER: 'always_off' };
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const child = spawn(binary, ['--config', config], { stdio: ['ignore', log, log], env });
  fs.closeSync(log);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => (exited = { code, signal }));
  const pid = child.pid!;
  const queryUrl = `http://127.0.0.1:${opts.queryPort}`;
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    if (!(await waitForExit(pid, 5000))) child.kill('SIGKILL');
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      throw new JaegerError(
        `Jaeger exited (${exited.signal ?? `code ${exited.code}`}) before its query API answered at ${queryUrl}; ` +
          `see ${logFile}:\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}`,
      );
    }
    const up = await fetch(`${queryUrl}/api/services`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return { otlpEndpoint: `http://127.0.0.1:${opts.otlpHttpPort}`, queryUrl, pid, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new JaegerError(
        `Jaeger's query API did not answer at ${queryUrl} within ${opts.timeoutMs ?? 30_000} ms; see ${logFile}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

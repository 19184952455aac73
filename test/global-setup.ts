import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { freePort } from '../src/tools/ports';
import { ensureTemporalCli } from '../src/temporal/cli';
import { ensureToxiproxy } from '../src/chaos/toxiproxy';
import { ensureOidcProvider } from '../src/api/oidc-provider';
import { reapOrphanedProcesses } from '../src/providers/orphans';
import { type DevServer, startDevServer } from '../src/temporal/server';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** The same server's HTTP API (http://127.0.0.1:port): `strata status` reads it when it answers. */
    temporalHttp: string;
    namespace: string;
  }
}

let server: DevServer | undefined;
let dir: string | undefined;

/** Starts the one real Temporal dev server of this test run (building the CLI if needed). */
export async function setup(project: TestProject): Promise<void> {
  const cli = await ensureTemporalCli();
  await ensureToxiproxy(); // environments' fault proxies; built once into the cache
  await ensureOidcProvider(); // the real OpenID provider of the API tests; built once into the cache

  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-test-temporal-'));
  const port = await freePort();
  const httpPort = await freePort();
  server = await startDevServer({
    cli,
    dbFile: path.join(dir, 'temporal.db'),
    logFile: path.join(dir, 'temporal.log'),
    port,
    uiPort: port + 1, // unused: headless
    httpPort,
    headless: true,
    namespace: 'strata',
    retentionDays: 30,
  });
  project.provide('temporalAddress', server.address);
  project.provide('temporalHttp', `http://127.0.0.1:${httpPort}`);
  project.provide('namespace', 'strata');
}

export async function teardown(): Promise<void> {
  await server?.stop();
  // Tests remove their temporary STRATA_HOME; an environment removed without a teardown leaves its
  // candidate, feature service and proxy running. Stop those (only under the temporary folder).
  const reaped = await reapOrphanedProcesses({ under: os.tmpdir() });
  if (reaped.length)
    console.warn(
      `test teardown: stopped ${reaped.length} process(es) of removed test environments (${reaped.map((p) => p.role).join(', ')})`,
    );
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

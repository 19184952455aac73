// The real CLI as a child process: `bin/strata …args` from the repository root, against the test
// run's dev server and a suite's home and task queue.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';
import { ROOT } from './harness';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runStrata(
  args: string[],
  where: { home: string; taskQueue: string },
  env: Record<string, string> = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, 'bin/strata'), args, {
      cwd: ROOT,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        // `strata status` reads the HTTP API, as with `strata up`; status-http.test.ts covers gRPC.
        STRATA_TEMPORAL_HTTP: inject('temporalHttp'),
        TEMPORAL_NAMESPACE: inject('namespace'),
        STRATA_HOME: where.home,
        STRATA_TASK_QUEUE: where.taskQueue,
        STRATA_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

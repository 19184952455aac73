// The populate step's thread: preparePopulation (synthesis, sanitizing, the PII scan, fidelity)
// runs here, off the worker's event loop, and reports its steps and rows to the parent.
// See runPopulationInThread (src/data/populate-runner.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { preparePopulation, type PopulateOptions } from './populate';
import type { ThreadMessage } from './populate-runner';

const port = parentPort!;
const post = (message: ThreadMessage) => port.postMessage(message);
const opts = workerData as Omit<PopulateOptions, 'progress' | 'onRows'>;

preparePopulation({
  ...opts,
  progress: (step) => post({ type: 'step', step }),
  onRows: (rows) => post({ type: 'rows', rows }),
}).then(
  (prepared) => post({ type: 'done', prepared }),
  (err: unknown) => {
    const e = err as Record<string, unknown> & Error;
    post({
      type: 'error',
      error: {
        name: e?.name ?? 'Error',
        message: e?.message ?? String(err),
        stack: e?.stack,
        kind: e?.kind as string | undefined,
        report: e?.report,
        file: e?.file as string | undefined,
        issues: e?.issues,
      },
    });
  },
);

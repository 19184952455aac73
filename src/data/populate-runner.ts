// Runs the populate step's heavy part (synthesis, sanitizing, PII scan, fidelity) in a worker
// thread, so the worker's event loop stays free: heartbeats go out, other workflows' tasks run,
// `strata status` answers. An abort terminates the thread at once and removes its staging file.

import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ConfigError, type ConfigIssue } from '../validation/errors';
import { PiiSourceError } from './pii/scan';
import {
  discardPopulation,
  type PopulateOptions,
  PopulationRefused,
  type PopulationRefusal,
  type PopulationReport,
  type PreparedPopulation,
} from './populate';

export type ThreadMessage =
  | { type: 'step'; step: string }
  | { type: 'rows'; rows: number }
  | { type: 'done'; prepared: PreparedPopulation }
  | {
      type: 'error';
      error: {
        name: string;
        message: string;
        stack?: string;
        kind?: string;
        report?: unknown;
        file?: string;
        issues?: unknown;
      };
    };

/** The population was stopped by an abort (the thread was terminated). */
export class PopulationCancelled extends Error {
  override name = 'PopulationCancelled';
}

/** The thread's error as the class it was thrown as, so callers tell refusals from input errors. */
function revive(e: Extract<ThreadMessage, { type: 'error' }>['error']): Error {
  let err: Error;
  if (e.name === 'PopulationRefused')
    err = new PopulationRefused(e.kind as PopulationRefusal, e.message, e.report as PopulationReport);
  else if (e.name === 'ConfigError' || e.name === 'NotProvisionedError' || (e.file && Array.isArray(e.issues))) {
    err = new ConfigError(e.file ?? '', (e.issues ?? []) as ConfigIssue[]);
    err.message = e.message;
  } else if (e.name === 'PiiSourceError') {
    err = new PiiSourceError(e.file ?? '', '');
    err.message = e.message;
  } else {
    err = new Error(e.message);
    err.name = e.name;
  }
  if (e.stack) err.stack = e.stack;
  return err;
}

/**
 * The thread's entry: tsx's require hook, then the TypeScript thread module. The thread takes no
 * flags from the parent (which may or may not run under tsx: the worker, vitest, the bench).
 */
function threadBootstrap(): string {
  const hook = require.resolve('tsx/cjs');
  const entry = path.join(__dirname, 'populate-thread.ts');
  return `require(${JSON.stringify(hook)}); require(${JSON.stringify(entry)});`;
}

export interface ThreadProgress {
  step?: string;
  rows?: number;
}

/**
 * preparePopulation in a worker thread. `signal` aborts it: the thread is terminated and the
 * staging file removed, and this rejects with PopulationCancelled.
 */
export function runPopulationInThread(
  opts: Omit<PopulateOptions, 'progress' | 'onRows'> & { staging: string },
  hooks: { signal?: AbortSignal; progress?: (p: ThreadProgress) => void } = {},
): Promise<PreparedPopulation> {
  if (hooks.signal?.aborted) return Promise.reject(new PopulationCancelled('population aborted before it started'));
  const worker = new Worker(threadBootstrap(), {
    eval: true,
    workerData: opts,
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  const removeStaging = () => discardPopulation({ staging: opts.staging } as PreparedPopulation);
  return new Promise<PreparedPopulation>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      hooks.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      settle(() => {
        void worker.terminate().finally(() => {
          removeStaging();
          reject(new PopulationCancelled('population aborted'));
        });
      });
    };
    hooks.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: ThreadMessage) => {
      if (m.type === 'step') hooks.progress?.({ step: m.step });
      else if (m.type === 'rows') hooks.progress?.({ rows: m.rows });
      else if (m.type === 'done') settle(() => resolve(m.prepared));
      else if (m.type === 'error') settle(() => reject(revive(m.error)));
    });
    worker.on('error', (err) =>
      settle(() => {
        removeStaging();
        reject(err);
      }),
    );
    worker.on('exit', (code) =>
      settle(() => {
        if (fs.existsSync(opts.staging)) removeStaging();
        reject(new Error(`the populate thread exited (${code}) before it finished`));
      }),
    );
  }).finally(() => void worker.terminate());
}

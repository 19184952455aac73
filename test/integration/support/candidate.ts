// Test support: the example candidates as CandidateRefs, their servers as real processes, and an
// in-process fake candidate whose answers a test controls.

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { loadCandidate } from '../../../src/config/candidate';
import type { CandidateRef } from '../../../src/domain/ladder';
import { EXAMPLE_CANDIDATES, installRelease } from '../../helpers/example-candidates';

export const EXAMPLES_DIR = EXAMPLE_CANDIDATES;

/** An example candidate, loaded by the real config loader (so the manifests are checked too). */
export function loadExampleCandidate(name: 'fraud-v1' | 'fraud-v2' | 'fraud-v3'): Promise<CandidateRef> {
  return loadCandidate(path.join(EXAMPLES_DIR, name));
}

export interface RunningCandidate {
  url: string;
  process: ChildProcess;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Installs the candidate in a temporary release directory (as the deployer does), starts its serve
 * command there on a free port and waits for GET /health to answer 200.
 */
export async function startCandidate(
  candidate: CandidateRef,
  env: Record<string, string> = {},
): Promise<RunningCandidate> {
  const release = installRelease(candidate, fs.mkdtempSync(path.join(os.tmpdir(), 'strata-release-')));
  const [command, ...args] = candidate.serve;
  const child = spawn(command === 'node' ? process.execPath : command, args, {
    cwd: release,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      fs.rmSync(release, { recursive: true, force: true });
      resolve(code);
    }),
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));

  // PORT=0 lets the server pick a free port; it logs the URL it listens on.
  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${candidate.name} did not start in 10 s: ${stderr}`)), 10_000);
    const lines = readline.createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const event = JSON.parse(line) as { msg?: string; url?: string };
        if (event.msg === 'listening' && event.url) {
          clearTimeout(timer);
          resolve(event.url);
        }
      } catch {
        /* not a log event */
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${candidate.name} exited with ${code} before listening: ${stderr}`));
    });
  });

  let url: string;
  try {
    url = await listening;
    for (let attempt = 0; ; attempt++) {
      const healthy = await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (healthy) break;
      if (attempt > 50) throw new Error(`${url}/health never answered 200`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    child.kill('SIGKILL'); // never leave a half-started server behind
    throw err;
  }

  return {
    url,
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface FakeCandidate {
  url: string;
  /** Bodies of the /predict requests received, in order. */
  bodies: { records: Record<string, unknown>[] }[];
  close(): Promise<void>;
}

/** An in-process stand-in for a candidate whose /predict answer the test controls. */
export async function startFakeCandidate(
  answer: (
    records: Record<string, unknown>[],
  ) => Promise<{ status: number; body: unknown }> | { status: number; body: unknown },
): Promise<FakeCandidate> {
  const bodies: FakeCandidate['bodies'] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', async () => {
      const body = JSON.parse(text);
      bodies.push(body);
      const { status, body: reply } = await answer(body.records);
      if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// The example candidates as the deployer installs them: one release directory holding the
// artifacts (the shared server.js among them, read from where each manifest says) and candidate.yaml.

import fs from 'node:fs';
import path from 'node:path';
import { artifactSource, loadCandidate, MANIFEST_NAME } from '../../src/config/candidate';
import type { CandidateRef } from '../../src/domain/ladder';

export const EXAMPLE_CANDIDATES = path.resolve(__dirname, '../../examples/candidates');
/** The server every example candidate serves; each manifest lists it as its `server.js` artifact. */
export const SHARED_SERVER = path.join(EXAMPLE_CANDIDATES, 'shared', 'server.js');

export type ExampleName = 'fraud-v1' | 'fraud-v2' | 'fraud-v3';

/** Copies the candidate's artifacts and candidate.yaml into `dir` (created if need be), as a release. */
export function installRelease(candidate: CandidateRef, dir: string): string {
  for (const artifact of [...candidate.artifacts, MANIFEST_NAME]) {
    const target = path.join(dir, artifact);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(artifactSource(candidate, artifact), target);
  }
  return dir;
}

/** An example candidate, loaded by the real config loader and installed in `dir`. */
export async function installExample(name: ExampleName, dir: string): Promise<CandidateRef> {
  const candidate = await loadCandidate(path.join(EXAMPLE_CANDIDATES, name));
  installRelease(candidate, dir);
  return candidate;
}

// Where Strata keeps its state under $STRATA_HOME: built here, once, and handed to whoever needs
// a folder, so no module works out one folder from another.

import path from 'node:path';

export interface StrataPaths {
  /** $STRATA_HOME (absolute): the approval registry lives here. */
  home: string;
  /** envs/<layer>: one folder per environment (the local provider's). */
  envs: string;
  /** runs/<run id>/run.json: stored load runs. */
  runs: string;
  /** drills/<drill id>: a DR drill's writer log, backup, injection record and report. */
  drills: string;
  /** artifacts/sha256/<digest>: the artifact store, where promote seals candidates and deploys read them. */
  artifacts: string;
  /** locks/<layer>.lock: one attempt at a time changes an environment's processes. */
  locks: string;
}

export function strataPaths(home: string): StrataPaths {
  const root = path.resolve(home);
  return {
    home: root,
    envs: path.join(root, 'envs'),
    runs: path.join(root, 'runs'),
    drills: path.join(root, 'drills'),
    artifacts: path.join(root, 'artifacts'),
    locks: path.join(root, 'locks'),
  };
}

// The activity object the worker registers: one factory per area, composed. Activities are thin:
// they validate what they are given, call the provider, the data plane or a gate, and heartbeat.
// Every one is idempotent (the provider's methods are).
//
// The keys are the activity type names recorded in workflow histories: renaming one needs the
// old name kept as an alias and a patched() path in the workflow that schedules it.

import { createAuditActivities } from './audit';
import { createDataActivities } from './data';
import { createDrillActivities } from './drills';
import { createEnvironmentActivities } from './environment';
import { createGateActivities } from './gates';
import { createLadderActivities } from './ladder';
import { createLeaseActivities } from './lease';
import { createNotifyActivities } from './notify';
import type { ActivityDeps } from './support';

export type { ActivityDeps } from './support';
export type { ProvisionResult } from './environment';
export type { PopulationResult } from './data';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createEnvironmentActivities(deps),
    ...createDataActivities(deps),
    ...createGateActivities(deps),
    ...createLeaseActivities(deps),
    ...createDrillActivities(deps),
    ...createLadderActivities(deps),
    ...createAuditActivities(deps),
    ...createNotifyActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

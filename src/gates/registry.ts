import { chaosGate } from './chaos';
import { consistencyGate } from './consistency';
import { drillPassedWithinGate } from './drill-passed-within';
import { expectationsGate } from './expectations';
import { latencyGate } from './latency';
import { qualityGate } from './quality';
import { schemaGate } from './schema';
import { schemaCompatibilityGate } from './schema-compatibility';
import { seedsGate } from './seeds';
import { sloGate } from './slo';
import type { GateDefinition } from './types';

/** Gate types by name. The ladder schema is built from this map: a new gate is one new file here. */
export const gateRegistry: Record<string, GateDefinition<any>> = {
  [schemaGate.type]: schemaGate,
  [consistencyGate.type]: consistencyGate,
  [qualityGate.type]: qualityGate,
  [latencyGate.type]: latencyGate,
  [drillPassedWithinGate.type]: drillPassedWithinGate,
  [sloGate.type]: sloGate,
  [chaosGate.type]: chaosGate,
  [schemaCompatibilityGate.type]: schemaCompatibilityGate,
  [expectationsGate.type]: expectationsGate,
  [seedsGate.type]: seedsGate,
};

export function gateTypes(): string[] {
  return Object.keys(gateRegistry);
}

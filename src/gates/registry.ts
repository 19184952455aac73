import { chaosGate } from './chaos';
import { consistencyGate } from './consistency';
import { drillPassedWithinGate } from './drill-passed-within';
import { latencyGate } from './latency';
import { qualityGate } from './quality';
import { schemaGate } from './schema';
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
};

export function gateTypes(): string[] {
  return Object.keys(gateRegistry);
}

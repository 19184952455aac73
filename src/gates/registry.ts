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

/**
 * Gate types by name, with their run functions (the runtime). The configs alone are in
 * ./configs.ts; a new gate is one `<gate>.config.ts`, one `<gate>.ts`, and a line in each map.
 */
export const gateRegistry: Record<string, GateDefinition> = Object.fromEntries(
  [
    schemaGate,
    consistencyGate,
    qualityGate,
    latencyGate,
    drillPassedWithinGate,
    sloGate,
    chaosGate,
    schemaCompatibilityGate,
    expectationsGate,
    seedsGate,
  ].map((g) => [g.type, g as GateDefinition]),
);

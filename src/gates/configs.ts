import { chaosConfig } from './chaos.config';
import type { GateConfig } from './config-types';
import { consistencyConfig } from './consistency.config';
import { drillPassedWithinConfig } from './drill-passed-within.config';
import { expectationsConfig } from './expectations.config';
import { latencyConfig } from './latency.config';
import { qualityConfig } from './quality.config';
import { schemaConfig } from './schema.config';
import { schemaCompatibilityConfig } from './schema-compatibility.config';
import { seedsConfig } from './seeds.config';
import { sloConfig } from './slo.config';

/**
 * Gate configs by type: what ladder.yaml may say about each gate. The ladder schema is built from
 * this map; src/gates/registry.ts pairs each config with its run function. Nothing here runs a
 * gate, so src/config imports this module and never the gate runtime.
 */
export const gateConfigs: Record<string, GateConfig> = Object.fromEntries(
  [
    schemaConfig,
    consistencyConfig,
    qualityConfig,
    latencyConfig,
    drillPassedWithinConfig,
    sloConfig,
    chaosConfig,
    schemaCompatibilityConfig,
    expectationsConfig,
    seedsConfig,
  ].map((c) => [c.type, c as GateConfig]),
);

export function gateTypes(): string[] {
  return Object.keys(gateConfigs);
}

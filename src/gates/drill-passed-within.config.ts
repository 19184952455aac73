import { z } from 'zod';
import { DRILL_SCENARIOS } from '../domain/drill';
import { DURATION_HINT, parseDuration } from '../domain/duration';
import type { GateConfig } from './config-types';

export const drillPassedWithinOptions = z.strictObject({
  within: z.string().refine((s) => (parseDuration(s) ?? 0) > 0, { message: `expected ${DURATION_HINT}` }),
  /** Only drills of this scenario count (any scenario when absent). */
  scenario: z.enum(DRILL_SCENARIOS).optional(),
  /**
   * The first promotion into a layer has no environment to drill yet: let it through (true,
   * default) — drills are required from the next promotion on — or not (false).
   */
  bootstrap: z.boolean().default(true),
});

export type DrillPassedWithinOptions = z.infer<typeof drillPassedWithinOptions>;

export const drillPassedWithinConfig: GateConfig<DrillPassedWithinOptions> = {
  type: 'drill-passed-within',
  description: 'a DR drill of the layer passed (RTO and RPO met) within the given time',
  config: z.strictObject({ threshold: z.undefined().optional(), options: drillPassedWithinOptions }),
};

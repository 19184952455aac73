import type { z } from 'zod';

// The light half of a gate: what ladder.yaml may say about it. Imports nothing that runs (no
// database, no HTTP, no load generator), so src/config reads gate configs without the gate runtime.

/** A field of the layer a gate depends on, e.g. the `seeds` gate and the layer's `seeds: [...]`. */
export interface LayerFieldRule {
  field: string;
  /** Said at the gate's `type` when the layer lacks the field. */
  missing: string;
  /** Said at the layer's field when no gate of this type uses it. */
  unused: string;
}

export interface GateConfig<Options extends Record<string, unknown> = Record<string, unknown>> {
  type: string;
  description: string;
  /** Validates `{ threshold, options }` of a gate entry; defaults filled in. */
  config: z.ZodType<{ threshold?: number; options: Options }>;
  /**
   * Measures time or injects faults (latency, slo, chaos): it may not run beside other gates
   * (`parallel: true`), whose load would distort what it measures.
   */
  exclusive?: boolean;
  /** Computed by the workflow from its children's results, not measured by an activity (`seeds`). */
  computedByWorkflow?: boolean;
  /** The layer fields this gate needs, checked across fields by the ladder loader. */
  layerFields?: readonly LayerFieldRule[];
  /** Makes the file paths among the options absolute: `resolve` resolves one against the ladder file. */
  resolvePaths?(options: Options, resolve: (file: string) => string): void;
}

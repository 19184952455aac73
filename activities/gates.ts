// Gates against the layer's running candidate: one gate of the ladder, or one seed's measurement.

import { ApplicationFailure, Context } from '@temporalio/activity';
import type { CandidateRef, GateLayer, GateSpec, LayerSpec } from '../src/domain/ladder';
import type { SeedRunResult } from '../src/domain/seeds';
import type { GateResult } from '../src/domain/status';
import { qualityGate } from '../src/gates/quality';
import { runMeasuredGate } from '../src/gates/engine';
import { gateRegistry } from '../src/gates/registry';
import { isMeasured } from '../src/gates/types';
import { RunStore, stableRunId } from '../src/load/runs';
import { FEATURES_PROXY } from '../src/providers/dependency';
import { withSpan } from '../src/tracing/spans';
import { type ActivityDeps, mustDescribe, variantDbPath, withHeartbeat } from './support';

export function createGateActivities({ provider, paths }: ActivityDeps) {
  return {
    async runGate(input: {
      /** The layer without its gates (older workflows sent them too: they are not read). */
      layer: GateLayer;
      candidate: CandidateRef;
      gate: GateSpec;
    }): Promise<GateResult> {
      const definition = gateRegistry[input.gate.type];
      if (!definition) {
        throw ApplicationFailure.nonRetryable(`unknown gate type "${input.gate.type}"`, 'UnknownGate');
      }
      if (!isMeasured(definition)) {
        throw ApplicationFailure.nonRetryable(
          `the ${input.gate.type} gate is computed by the workflow from its children's results, not by an activity`,
          'WorkflowComputedGate',
        );
      }
      const measure = () =>
        withHeartbeat(async (signal) => {
          const env = await mustDescribe(provider, input.layer.name);
          if (!env.url) {
            return unmeasured(input.gate, `no candidate is running in ${input.layer.name}`);
          }
          const ctx = Context.current();
          const info = ctx.info;
          const layerName = input.layer.name;
          const base = {
            layer: input.layer,
            candidate: input.candidate,
            dbPath: env.dbPath,
            url: env.url,
            heartbeat: (d?: unknown) => ctx.heartbeat(d),
            signal,
          };
          // Each capability is built only if the gate declared it.
          return runMeasuredGate(definition, base, input.gate, {
            loadRuns: () => ({
              // Same id on every attempt: a retried load run replaces its stored run, never adds one.
              runId: stableRunId(
                new Date(info.scheduledTimestampMs),
                `${info.workflowExecution?.workflowId ?? info.activityId}/${info.activityId}`,
              ),
              store: new RunStore(paths.home),
            }),
            chaos: () => {
              const dependency = provider.dependency?.(layerName);
              const killCandidate = provider.killCandidate?.bind(provider);
              if (!dependency || !killCandidate) return undefined;
              return {
                proxyApiUrl: dependency.proxyApiUrl,
                proxyName: FEATURES_PROXY,
                killCandidate: async () => {
                  await killCandidate(layerName);
                },
                restartCandidate: async () => {
                  await provider.restart(layerName);
                },
              };
            },
            drillReports: () => ({ dir: paths.drills }),
            knownGood: () => env.knownGood ?? null,
          });
        });
      // A span per gate, named after it, under the activity's span (a no-op when tracing is off).
      const attributes = {
        'strata.layer': input.layer.name,
        'strata.gate': input.gate.name,
        'strata.gate.type': input.gate.type,
      };
      return withSpan(`gate ${input.gate.name}`, attributes, async (span) => {
        const result = await measure();
        span.setAttribute('strata.gate.passed', result.passed);
        if (typeof result.value === 'number') span.setAttribute('strata.gate.value', result.value);
        return result;
      });
    },

    /** The candidate's metric on one seed's data (the `seeds` gate's options: metric, cutoff, limit). */
    async evaluateSeed(input: {
      layer: LayerSpec;
      candidate: CandidateRef;
      seed: number;
      gate: GateSpec;
    }): Promise<SeedRunResult> {
      return withHeartbeat(async (signal) => {
        const env = await mustDescribe(provider, input.layer.name);
        const dbPath = variantDbPath(env, input.seed);
        if (!env.url)
          return { seed: input.seed, value: null, detail: `no candidate is running in ${input.layer.name}` };
        const ctx = Context.current();
        const { metric, cutoff, limit } = input.gate.options as {
          metric?: 'auc' | 'accuracy';
          cutoff?: number;
          limit?: number;
        };
        const result = await qualityGate.run(
          {
            layer: input.layer,
            candidate: input.candidate,
            dbPath,
            url: env.url,
            heartbeat: (d?: unknown) => ctx.heartbeat(d),
            signal,
          },
          {
            name: `${input.gate.name}-seed-${input.seed}`,
            type: 'quality',
            threshold: input.gate.threshold ?? 0,
            options: { metric: metric ?? 'auc', cutoff: cutoff ?? 0.5, batchSize: 500, limit },
          },
        );
        return { seed: input.seed, value: result.value, detail: result.detail };
      });
    },
  };
}

function unmeasured(gate: GateSpec, detail: string): GateResult {
  return { name: gate.name, type: gate.type, passed: false, value: null, threshold: gate.threshold ?? null, detail };
}

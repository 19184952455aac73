import type { GateResult } from '../domain/status';
import { accuracy, auc, type BinaryLabel, roundTo } from './metrics';
import { PredictClient } from './predict-client';
import { type FeatureRecord, readRecords } from '../envdb/records';
import { openReadOnly } from '../envdb/sqlite';
import { type QualityOptions, qualityConfig, qualityOptions } from './quality.config';
import type { MeasuredGate } from './types';

// Model quality: scores every labelled record of the environment by calling the running
// candidate over HTTP, then computes AUC or accuracy. Passes when value >= threshold.

/** Per-batch bound, so a hung candidate fails the gate instead of holding the activity forever. */
const BATCH_TIMEOUT_MS = 60_000;

function asLabel(value: unknown): BinaryLabel | null {
  if (value === 1 || value === true) return 1;
  if (value === 0 || value === false) return 0;
  return null;
}

export const qualityGate: MeasuredGate<QualityOptions> = {
  ...qualityConfig,
  needs: [],
  async run(ctx, spec) {
    ctx.signal.throwIfAborted();
    const opts = qualityOptions.parse(spec.options ?? {});
    const threshold = spec.threshold ?? null;
    const result = { name: spec.name, type: spec.type, threshold, unit: opts.metric };
    const unmeasured = (detail: string): GateResult => ({ ...result, passed: false, value: null, detail });
    if (threshold === null) return unmeasured('the quality gate needs a threshold (e.g. threshold: 0.8)');

    const scores: number[] = [];
    const labels: BinaryLabel[] = [];
    let unlabelled = 0;
    let db;
    try {
      db = openReadOnly(ctx.dbPath);
    } catch (err) {
      return unmeasured((err as Error).message);
    }
    const client = new PredictClient(ctx.url, { signal: ctx.signal });
    try {
      let batch: FeatureRecord[] = [];
      let batchLabels: BinaryLabel[] = [];
      const flush = async (): Promise<string | null> => {
        const outcome = await client.predict(batch, BATCH_TIMEOUT_MS);
        if (!outcome.ok) return outcome.reason;
        scores.push(...outcome.scores);
        labels.push(...batchLabels);
        batch = [];
        batchLabels = [];
        ctx.heartbeat({ gate: spec.name, scored: scores.length });
        return null;
      };
      try {
        for (const { record, label } of readRecords(db, ctx.candidate.input, { withLabel: true, limit: opts.limit })) {
          const y = asLabel(label);
          if (y === null) {
            unlabelled++;
            continue;
          }
          batch.push(record);
          batchLabels.push(y);
          if (batch.length >= opts.batchSize) {
            const failure = await flush();
            if (failure) return unmeasured(`after ${scores.length} records scored: ${failure}`);
          }
        }
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        return unmeasured(`cannot read ${ctx.candidate.input.table}: ${(err as Error).message}`);
      }
      if (batch.length > 0) {
        const failure = await flush();
        if (failure)
          return unmeasured(scores.length > 0 ? `after ${scores.length} records scored: ${failure}` : failure);
      }
    } finally {
      db.close();
      await client.close();
    }

    const skipped = unlabelled > 0 ? `; ${unlabelled} rows without a 0/1 label skipped` : '';
    const positives = labels.reduce<number>((a, b) => a + b, 0);
    if (opts.metric === 'auc' && (positives === 0 || positives === labels.length)) {
      return unmeasured(`AUC needs both classes; ${labels.length} records scored, ${positives} positive${skipped}`);
    }
    if (labels.length === 0)
      return unmeasured(`no labelled records to score in ${ctx.candidate.input.table}${skipped}`);

    const measured = opts.metric === 'auc' ? auc(scores, labels) : accuracy(scores, labels, opts.cutoff);
    const value = roundTo(measured, 4);
    const passed = value >= threshold;
    const how = opts.metric === 'accuracy' ? ` at cutoff ${opts.cutoff}` : '';
    return {
      ...result,
      passed,
      value,
      detail:
        `${opts.metric}${how} ${value} ${passed ? '>=' : '<'} ${threshold} over ${labels.length} records ` +
        `(${positives} positive) scored by ${ctx.url}${skipped}`,
    };
  },
};

import fs from 'node:fs';
import path from 'node:path';
import type { DrillReport } from '../domain/drill';
import { parseDuration } from '../domain/duration';
import { type DrillPassedWithinOptions, drillPassedWithinConfig } from './drill-passed-within.config';
import type { MeasuredGate } from './types';

// A recent passing DR drill as a requirement for promotion into the layer. Reads the drill
// reports kept under $STRATA_HOME/drills. Measured value: hours since the newest passing drill;
// threshold: the allowed age in hours.

const HOUR_MS = 3_600_000;

export function passingDrills(drillsDir: string, layer: string, scenario?: string): DrillReport[] {
  if (!fs.existsSync(drillsDir)) return [];
  const reports: DrillReport[] = [];
  for (const dir of fs.readdirSync(drillsDir, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const file of fs.readdirSync(path.join(drillsDir, dir.name))) {
      if (!file.endsWith('.json') || ['prepared.json', 'injected.json'].includes(file)) continue;
      try {
        const r = JSON.parse(fs.readFileSync(path.join(drillsDir, dir.name, file), 'utf8')) as DrillReport;
        const isReport = typeof r?.timeline?.verifiedAt === 'string' && typeof r?.verdict?.met === 'boolean';
        if (isReport && r.layer === layer && r.verdict.met && (!scenario || r.scenario === scenario)) reports.push(r);
      } catch {
        // not a report
      }
    }
  }
  return reports.sort((a, b) => (a.timeline.verifiedAt < b.timeline.verifiedAt ? -1 : 1));
}

export const drillPassedWithinGate: MeasuredGate<DrillPassedWithinOptions, 'drillReports' | 'knownGood'> = {
  ...drillPassedWithinConfig,
  needs: ['drillReports', 'knownGood'],
  async run(ctx, spec) {
    const withinMs = parseDuration(spec.options.within)!;
    const threshold = Math.round((withinMs / HOUR_MS) * 100) / 100;
    const base = { name: spec.name, type: spec.type, threshold, unit: 'h' };
    const what = spec.options.scenario ? `${spec.options.scenario} drill` : 'drill';
    const latest = passingDrills(ctx.drillReports.dir, ctx.layer.name, spec.options.scenario).at(-1);
    if (!latest) {
      if (spec.options.bootstrap && ctx.knownGood === null) {
        return {
          ...base,
          passed: true,
          value: null,
          detail: `bootstrap: first promotion into ${ctx.layer.name}, nothing to drill yet; a passing ${what} within ${spec.options.within} is required from the next promotion on`,
        };
      }
      return {
        ...base,
        passed: false,
        value: null,
        detail: `no passing ${what} of ${ctx.layer.name} on record; run \`strata drill run --layer ${ctx.layer.name} --scenario …\``,
      };
    }
    const ageMs = Date.now() - Date.parse(latest.timeline.verifiedAt);
    const value = Math.round((ageMs / HOUR_MS) * 100) / 100;
    const passed = ageMs <= withinMs;
    return {
      ...base,
      passed,
      value,
      detail: `latest passing ${what}: ${latest.id} (${latest.scenario}, RTO ${latest.measurement.rtoMs} ms) ${passed ? 'within' : 'older than'} ${spec.options.within}`,
    };
  },
};

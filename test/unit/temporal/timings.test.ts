import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { describe, expect, it } from 'vitest';
import { layerTimings } from '../../../src/temporal/timings';
import { renderTimings } from '../../../src/cli/render';

// Recorded layer histories (test/replay/histories) read back into timings: the figures below are
// the event times of those histories, worked out by hand from their events.
function timingsOf(file: string) {
  const json = JSON.parse(fs.readFileSync(path.join(__dirname, '../../replay/histories', `${file}.json`), 'utf8'));
  return layerTimings(file, historyFromJSON(json).events ?? []);
}

describe('layer timings from a layer workflow history', () => {
  it('times each phase from its StrataPhase upsert to the next, and each gate from its runGate activity', () => {
    const t = timingsOf('fraud-scoring-2.0.0-1efad0.mirror');
    // deploying entered at 16:56:00.826, testing at 16:56:01.553.
    expect(t.phases.deploying).toBe(727);
    expect(Object.keys(t.phases)).toEqual([
      'waiting-for-lease',
      'provisioning',
      'seeding',
      'deploying',
      'testing',
      'awaiting-approval',
    ]);
    // The gates in the order they ran, each its activity's scheduled → closed time.
    expect(t.gates.map((g) => g.name)).toEqual([
      'schema',
      'consistency',
      'quality',
      'latency-p95',
      'drill-passed-within',
      'slo-long',
      'dependency-down',
      'candidate-killed',
    ]);
    expect(t.gates.find((g) => g.name === 'slo-long')?.ms).toBe(9998);
    // The gates ran inside the testing phase, and the steps add up to no more than the whole.
    const gateSum = t.gates.reduce((a, g) => a + g.ms, 0);
    expect(gateSum).toBeLessThanOrEqual(t.phases.testing ?? 0);
    const phaseSum = Object.values(t.phases).reduce<number>((a, ms) => a + (ms ?? 0), 0);
    expect(phaseSum).toBeLessThanOrEqual(t.totalMs);
    expect(t.totalMs).toBe(21677);
  });

  it('times a gate computed from child workflows (many seeds) from the first child start to the last end', () => {
    const t = timingsOf('fraud-scoring-2.0.0-1efad0.fidelity');
    const seeds = t.gates.find((g) => g.name === 'seeds');
    expect(seeds?.ms).toBe(1195);
    expect(t.gates.map((g) => g.name).indexOf('seeds')).toBe(3); // after schema, consistency, quality
  });

  it('leaves out steps a layer never reached: no lease wait or approval in the sandbox', () => {
    const t = timingsOf('demo-1.sandbox');
    expect(t.phases['waiting-for-lease']).toBeUndefined();
    expect(t.phases['awaiting-approval']).toBeUndefined();
    const table = renderTimings([t]).split('\n');
    expect(table[0]).toMatch(/^LAYER\s+LEASE\s+PROVISION\s+SEED\s+DEPLOY\s+GATES\s+APPROVAL WAIT\s+TOTAL$/);
    expect(table[1]).toMatch(/^demo-1\.sandbox\s+–\s+205ms\s+83ms\s+335ms\s+915ms\s+–\s+1\.8s$/);
    expect(table[2]).toBe('  gates: schema 28ms, consistency 32ms, quality 56ms, latency-p95 112ms');
  });
});

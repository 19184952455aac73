import { describe, expect, it } from 'vitest';
import { gateConfigs } from '../../../src/gates/configs';
import { NO_CAPABILITIES, runMeasuredGate } from '../../../src/gates/engine';
import { gateRegistry } from '../../../src/gates/registry';
import { GATE_NEEDS, type GateBase, type GateNeed, type MeasuredGate } from '../../../src/gates/types';
import { WORKFLOW_GATES } from '../../../workflows/gates';

const BASE: GateBase = {
  layer: { name: 'l', seed: { rows: 1, seed: 0 }, approval: { mode: 'auto' }, rollback: 'keep' },
  candidate: {
    name: 'c',
    version: '1.0.0',
    digest: 'd',
    dir: '/nowhere',
    serve: [],
    input: { table: 't', label: 'y', features: {} },
  } as unknown as GateBase['candidate'],
  dbPath: '/nowhere/data.db',
  url: 'http://127.0.0.1:1',
  heartbeat: () => {},
  signal: new AbortController().signal,
};

describe('the gate registry', () => {
  it('pairs every gate config with a definition of the same type, and nothing else', () => {
    expect(Object.keys(gateRegistry).sort()).toEqual(Object.keys(gateConfigs).sort());
    for (const [type, gate] of Object.entries(gateRegistry)) {
      expect(gate.type).toBe(type);
      expect(gate.config).toBe(gateConfigs[type].config);
    }
  });

  it('computes in the workflow exactly the gates whose definitions say so', () => {
    const flagged = Object.values(gateRegistry)
      .filter((g) => g.computedByWorkflow)
      .map((g) => g.type);
    expect(flagged.sort()).toEqual(Object.keys(WORKFLOW_GATES).sort());
    for (const type of flagged) expect('run' in gateRegistry[type]).toBe(false);
  });

  it('declares only known needs, and only measured gates run', () => {
    for (const gate of Object.values(gateRegistry)) {
      if (gate.computedByWorkflow) continue;
      for (const need of gate.needs) expect(GATE_NEEDS).toContain(need);
    }
    expect(gateRegistry.slo).toMatchObject({ needs: ['loadRuns'] });
    expect(gateRegistry.chaos).toMatchObject({ needs: ['chaos', 'loadRuns'] });
    expect(gateRegistry['drill-passed-within']).toMatchObject({ needs: ['drillReports', 'knownGood'] });
  });
});

describe('the gate engine', () => {
  const probe: MeasuredGate<Record<string, never>, 'knownGood' | 'drillReports'> = {
    type: 'probe',
    description: 'sees what it was given',
    config: gateConfigs.schema.config as MeasuredGate<Record<string, never>>['config'],
    needs: ['knownGood', 'drillReports'],
    async run(ctx, spec) {
      return {
        name: spec.name,
        type: spec.type,
        passed: true,
        value: null,
        threshold: null,
        detail: Object.keys(ctx).sort().join(','),
      };
    },
  };
  const spec = { name: 'probe', type: 'probe', options: {} };

  it('injects exactly the declared capabilities, building only those', async () => {
    const built: string[] = [];
    const result = await runMeasuredGate(probe, BASE, spec, {
      loadRuns: () => {
        built.push('loadRuns');
        return undefined;
      },
      chaos: () => {
        built.push('chaos');
        return undefined;
      },
      drillReports: () => {
        built.push('drillReports');
        return { dir: '/drills' };
      },
      knownGood: () => {
        built.push('knownGood');
        return null;
      },
    });
    expect(built.sort()).toEqual(['drillReports', 'knownGood']);
    expect(result.detail).toBe('candidate,dbPath,drillReports,heartbeat,knownGood,layer,signal,url');
  });

  it('fails a gate unmeasured, naming what the environment cannot give, without running it', async () => {
    const result = await runMeasuredGate(
      gateRegistry.chaos as MeasuredGate<Record<string, unknown>, GateNeed>,
      BASE,
      { ...spec, type: 'chaos' },
      NO_CAPABILITIES,
    );
    expect(result).toMatchObject({ passed: false, value: null });
    expect(result.detail).toBe('this environment has no fault-injection proxy (provider without chaos support)');
  });
});

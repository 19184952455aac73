import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { exportedMetricNames } from '../../../src/metrics/registry';

const ROOT = path.resolve(__dirname, '../../..');
const DASHBOARD = path.join(ROOT, 'deploy/grafana/strata.json');
const ALERTS = path.join(ROOT, 'deploy/prometheus/alerts.yml');
const ALERT_TESTS = path.join(ROOT, 'deploy/prometheus/alerts.test.yml');

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ refId: string; expr: string }>;
}

/** The metric names a PromQL expression reads: Strata's own, or the Core SDK's (temporal_*). */
function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\b(?:strata|temporal)_[a-zA-Z0-9_:]+/g)].map((m) => m[0]);
}

const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();

describe('deploy/grafana/strata.json', () => {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as {
    title: string;
    uid: string;
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string }> };
  };

  it('is a dashboard with one row per concern, every panel under a row and on the grid', () => {
    expect(dashboard).toMatchObject({ title: 'Strata', uid: 'strata' });
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource' }),
    );
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(['The ladder', 'Approvals', 'Drills', 'Traffic', 'Data']);
    expect(dashboard.panels[0].type).toBe('row');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      if (p.type !== 'row') expect(p.targets?.length, `${p.title} has a query`).toBeGreaterThan(0);
    }
    // Every row has panels.
    const kinds = dashboard.panels.map((p) => p.type === 'row');
    kinds.forEach((isRow, i) => isRow && expect(kinds[i + 1], `row ${dashboard.panels[i].title}`).toBe(false));
  });

  it('queries only metrics the worker exports (Strata registry; temporal_* from the Core SDK)', async () => {
    const exported = await exportedMetricNames();
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      for (const t of p.targets ?? []) {
        const names = metricNamesIn(t.expr);
        expect(names.length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
        for (const n of names.filter((x) => x.startsWith('strata_')))
          expect(exported.has(n), `${p.title}: ${n}`).toBe(true);
      }
    }
  });
});

describe('deploy/prometheus/alerts.yml', () => {
  const rules = YAML.parse(fs.readFileSync(ALERTS, 'utf8')) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
  };
  const alerts = rules.groups.flatMap((g) => g.rules);

  it('alerts on every concern of the issue, over exported metrics', async () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      [
        'StrataApprovalWaiting',
        'StrataDrillFailed',
        'StrataDrillOverdue',
        'StrataLayerStuck',
        'StrataPiiFoundAtSeed',
        'StrataSloGateFailing',
        'StrataWorkerNoPollers',
      ].sort(),
    );
    const exported = await exportedMetricNames();
    for (const a of alerts) {
      const names = metricNamesIn(a.expr);
      expect(names.length, a.alert).toBeGreaterThan(0);
      for (const n of names.filter((x) => x.startsWith('strata_')))
        expect(exported.has(n), `${a.alert}: ${n}`).toBe(true);
    }
  });

  it.skipIf(!promtool)(
    'passes promtool check rules and promtool test rules on synthetic series',
    () => {
      const check = spawnSync(promtool, ['check', 'rules', ALERTS], { encoding: 'utf8' });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      expect(check.stdout).toContain('SUCCESS: 7 rules found');
      const test = spawnSync(promtool, ['test', 'rules', ALERT_TESTS], {
        encoding: 'utf8',
        cwd: path.dirname(ALERT_TESTS),
      });
      expect(test.status, test.stdout + test.stderr).toBe(0);
      expect(test.stdout).toContain('SUCCESS');
    },
    120_000,
  ); // two promtool runs: seconds alone, more on a loaded machine
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DrillReport, judgeDrill } from '../../../src/domain/drill';
import { formatMs, renderDrillReport, saveDrillReport, verdictLine } from '../../../src/drills/report';
import { tempDir } from '../../helpers/drill-env';

let root: string;
beforeAll(() => {
  root = tempDir('drill-report');
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const measurement = { rtoMs: 2300, rpoMs: 180, writesLost: 9 };

function report(objective = { rto: '60s', rpo: '5s', rtoMs: 60_000, rpoMs: 5000 }): DrillReport {
  return {
    id: 'drill-mirror-table-dropped-20260301T100000Z',
    layer: 'mirror',
    scenario: 'table-dropped',
    objective,
    timeline: {
      startedAt: '2026-03-01T10:00:00.000Z',
      steadyStateAt: '2026-03-01T10:00:00.400Z',
      backupAt: '2026-03-01T10:00:00.900Z',
      injectedAt: '2026-03-01T10:00:01.100Z',
      detectedAt: '2026-03-01T10:00:01.250Z',
      recoveredAt: '2026-03-01T10:00:02.900Z',
      verifiedAt: '2026-03-01T10:00:03.400Z',
    },
    measurement,
    verdict: judgeDrill(objective, measurement),
    backup: {
      file: '/home/.strata/backups/mirror/backup-20260301T100000900Z-abc123.db',
      at: '2026-03-01T10:00:00.900Z',
      bytes: 20480,
      tables: {
        transactions: { rows: 2000, checksum: 'a'.repeat(64) },
        drill_writes: { rows: 40, checksum: 'b'.repeat(64) },
      },
      lastWriteSeq: 40,
    },
    evidence: {
      steadyState: [],
      injection: { detail: 'dropped table transactions (2000 rows)' },
      detected: ['table transactions is missing'],
      recovery: [
        'restored backup-20260301T100000900Z-abc123.db (20480 bytes in 3 ms)',
        'restarted fraud-scoring 2.0.0',
      ],
      verification: {
        ok: true,
        problems: [],
        writesLost: 9,
        writesLostAfterInjection: 2,
        rpoMs: 180,
        lastAckBeforeInjection: { seq: 49, at: '2026-03-01T10:00:01.080Z' },
        lastPresentAfterRecovery: { seq: 40, at: '2026-03-01T10:00:00.900Z' },
        tablesChecked: ['transactions'],
      },
      writer: { acknowledged: 120, lastSeq: 120, lastAt: '2026-03-01T10:00:03.400Z', errors: 0 },
    },
    candidate: { name: 'fraud-scoring', version: '2.0.0', digest: 'f'.repeat(64) },
  };
}

describe('renderDrillReport', () => {
  it('renders JSON that round-trips to the report', () => {
    const r = report();
    expect(JSON.parse(renderDrillReport(r).json)).toEqual(r);
  });

  it('renders Markdown with the title, the verdict line, the timeline table and the evidence', () => {
    const md = renderDrillReport(report()).markdown;
    const lines = md.split('\n');
    expect(lines[0]).toBe('# DR drill drill-mirror-table-dropped-20260301T100000Z: table-dropped in mirror — PASSED');
    expect(md).toContain('**RTO 2.3 s ≤ 60 s — met; RPO 180 ms ≤ 5 s — met**');
    expect(md).toContain('| step | time | from injection |');
    expect(md).toContain('| backup taken | 2026-03-01T10:00:00.900Z | −200 ms |');
    expect(md).toContain('| fault injected | 2026-03-01T10:00:01.100Z | 0 |');
    expect(md).toContain('| healthy and verified | 2026-03-01T10:00:03.400Z | +2.3 s |');
    expect(md).toContain('- detected: table transactions is missing');
    expect(md).toContain('- injection: dropped table transactions (2000 rows)');
    expect(md).toMatch(/- verification: ok — transactions equal to the pre-fault snapshot/);
    expect(md).toMatch(
      /- writes: 120 acknowledged \(last #120\), 0 failed attempts; lost: 9 acknowledged before the injection, 2 after it/,
    );
    expect(md).toContain('recovery point: write #40 acknowledged at 2026-03-01T10:00:00.900Z');
    expect(md).toContain('  - transactions: 2000 rows, sha256 aaaaaaaaaaaaaaaa…');
  });

  it('says breached when an objective is not met', () => {
    const r = report({ rto: '1ms', rpo: '5s', rtoMs: 1, rpoMs: 5000 });
    const md = renderDrillReport(r).markdown;
    expect(md.split('\n')[0]).toMatch(/— FAILED$/);
    expect(md).toContain('**RTO 2.3 s > 1 ms — breached; RPO 180 ms ≤ 5 s — met**');
  });

  it('saves both files, idempotently', () => {
    const dir = path.join(root, 'reports');
    const first = saveDrillReport(dir, report());
    const again = saveDrillReport(dir, report());
    expect(again).toEqual(first);
    expect(fs.readFileSync(first.markdownFile, 'utf8')).toBe(renderDrillReport(report()).markdown);
    expect(JSON.parse(fs.readFileSync(first.jsonFile, 'utf8')).id).toBe(report().id);
    expect(fs.readdirSync(dir).sort()).toEqual(
      [path.basename(first.jsonFile), path.basename(first.markdownFile)].sort(),
    );
  });
});

describe('formatMs / verdictLine', () => {
  it('formats durations for people', () => {
    expect([0, 1, 180, 999, 1000, 2300, 60_000, 119_999, 270_000, 7_200_000].map(formatMs)).toEqual([
      '0 ms',
      '1 ms',
      '180 ms',
      '999 ms',
      '1 s',
      '2.3 s',
      '60 s',
      '120 s',
      '4.5 min',
      '2 h',
    ]);
    expect(verdictLine(judgeDrill({ rtoMs: 1000, rpoMs: 0 }, { rtoMs: 500, rpoMs: 20, writesLost: 1 }))).toBe(
      'RTO 500 ms ≤ 1 s — met; RPO 20 ms > 0 ms — breached',
    );
  });
});

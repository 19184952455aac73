import { describe, expect, it } from 'vitest';
import { runSoak, summarize } from '../../bench/soak';

// The short soak (`npm run soak` is the full one): its own private Temporal dev server, never the
// test run's shared one; real `strata worker` processes, one SIGKILLed every 20 s and started again;
// the server stopped and started once; promotions of v2 (promoted), v1 (promoted) and v3 (fails
// integration's quality gate, rolled back) sharing the lanes' environments. Slow by nature.

describe('soak: workers killed every 20 s and one Temporal server restart', () => {
  it('ends every promotion, provisions no environment twice, leaves no orphan process and no lease held', async () => {
    const lines: string[] = [];
    const report = await runSoak({
      workers: 2,
      promotions: 6,
      lanes: 3,
      killEveryMs: 20_000,
      settleMs: 6 * 60_000,
      log: (line) => lines.push(line),
    });
    const summary = summarize(report);
    console.log(summary);
    expect(report.failures, `${summary}\n${lines.join('\n')}`).toEqual([]);
    expect(report.promotions).toHaveLength(6);
    const states = report.promotions.map((p) => `${p.candidate}:${p.state}`).sort();
    // fraud-v3 fails its integration layer's 0.78 quality gate; v1 and v2 pass it.
    expect(states).toEqual([
      'fraud-v1:promoted',
      'fraud-v1:promoted',
      'fraud-v2:promoted',
      'fraud-v2:promoted',
      'fraud-v3:failed',
      'fraud-v3:failed',
    ]);
    expect(report.serverRestarts).toBe(1);
    expect(report.workerKills).toBeGreaterThanOrEqual(1);
    // Two layers in each of three lanes, each made once.
    expect(report.environments.map((e) => e.provisioned)).toEqual(Array(6).fill(1));
    expect(report.environments.every((e) => e.orphans === 0 && e.leaseHeld === null && e.waiting === 0)).toBe(true);
    expect(report.leftAfterTeardown).toBe(0);
  }, 600_000);
});

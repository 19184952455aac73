import { describe, expect, it } from 'vitest';
import { SharedReads } from '../../../activities/ladder';

// resolveLadder's reads of a ladder workflow: overlapping reads of the same version share one
// query; reads that do not overlap, and reads of other versions or ladders, each make their own.
function counting() {
  const calls: Array<[string, number | null]> = [];
  const release: Array<() => void> = [];
  const reads = new SharedReads<string>((id, version) => {
    calls.push([id, version]);
    return new Promise((resolve) => release.push(() => resolve(`${id}:${version ?? 'current'}:${calls.length}`)));
  });
  return { calls, release: () => release.splice(0).forEach((r) => r()), reads };
}

describe('SharedReads', () => {
  it('answers 50 overlapping reads of the current version with one query, all with its answer', async () => {
    const { calls, release, reads } = counting();
    const all = Promise.all(Array.from({ length: 50 }, () => reads.read('q.ladder.fraud', undefined)));
    release();
    const answers = await all;
    expect(calls).toEqual([['q.ladder.fraud', null]]);
    expect(new Set(answers)).toEqual(new Set(['q.ladder.fraud:current:1']));
  });

  it('queries again once a read has ended: nothing is kept', async () => {
    const { calls, release, reads } = counting();
    const first = reads.read('q.ladder.fraud', undefined);
    release();
    await first;
    const second = reads.read('q.ladder.fraud', undefined);
    release();
    expect(await second).toBe('q.ladder.fraud:current:2');
    expect(calls).toHaveLength(2);
  });

  it('keeps versions and ladders apart', async () => {
    const { calls, release, reads } = counting();
    const all = Promise.all([
      reads.read('q.ladder.fraud', undefined),
      reads.read('q.ladder.fraud', 2),
      reads.read('q.ladder.fraud', 2),
      reads.read('q.ladder.churn', undefined),
    ]);
    release();
    await all;
    expect(calls).toEqual([
      ['q.ladder.fraud', null],
      ['q.ladder.fraud', 2],
      ['q.ladder.churn', null],
    ]);
  });

  it('hands a failed query to every overlapping read, and the next read asks again', async () => {
    let n = 0;
    const reads = new SharedReads<string>(async () => {
      n += 1;
      if (n === 1) throw new Error('query timed out');
      return 'v3';
    });
    const results = await Promise.allSettled([reads.read('l', undefined), reads.read('l', undefined)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await reads.read('l', undefined)).toBe('v3');
    expect(n).toBe(2);
  });
});

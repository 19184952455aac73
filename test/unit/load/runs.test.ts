import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LoadResult } from '../../../src/load/generator';
import { InvalidRunError, newRunId, RunNotFoundError, RunStore, type StoredRun } from '../../../src/load/runs';

let home: string;

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-runs-'));
});

afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(home, { recursive: true, force: true });
});

function stored(id: string, createdAt: string, answered = 100): StoredRun {
  return {
    id,
    createdAt,
    layer: 'traffic',
    profile: {
      phases: [{ constant: { rate: 10, duration: '10s' } }],
      maxConcurrency: 64,
      timeoutMs: 2000,
      requests: { source: 'environment' },
      seed: 7,
      batch: 1,
    },
    seed: 7,
    candidate: { name: 'fraud-scoring', version: '2.0.0', digest: 'c'.repeat(64) },
    target: 'http://127.0.0.1:4000/predict',
    results: { runId: id, requests: { answered } } as unknown as LoadResult,
  };
}

describe('newRunId', () => {
  it('is run-<UTC yyyymmddThhmmss>-<6 hex>, different every time', () => {
    const id = newRunId(new Date('2026-11-25T14:30:12.345Z'));
    expect(id).toMatch(/^run-20261125T143012-[0-9a-f]{6}$/);
    expect(new Set(Array.from({ length: 50 }, () => newRunId())).size).toBe(50);
  });
});

describe('RunStore', () => {
  it('keeps each run in runs/<id>/run.json and reads it back', () => {
    const runs = new RunStore(home);
    const run = stored('run-a', '2026-11-25T10:00:00.000Z');
    const file = runs.save(run);
    expect(file).toBe(path.join(home, 'runs', 'run-a', 'run.json'));
    expect(runs.get('run-a')).toEqual(run);
    expect(runs.has('run-a')).toBe(true);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['run.json']); // no temporary file left behind
  });

  it('replaces a run saved again under the same id (a retried activity) instead of adding one', () => {
    const runs = new RunStore(home);
    runs.save(stored('run-retry', '2026-11-25T10:00:00.000Z', 40));
    runs.save(stored('run-retry', '2026-11-25T10:00:05.000Z', 100));
    expect(runs.list().map((r) => [r.id, r.results.requests.answered])).toEqual([['run-retry', 100]]);
  });

  it('never leaves a half-written run: a failed write keeps the previous file whole', () => {
    const runs = new RunStore(home);
    runs.save(stored('run-x', '2026-11-25T10:00:00.000Z', 1));
    vi.spyOn(fs, 'renameSync').mockImplementationOnce(() => {
      throw new Error('disk full');
    });
    expect(() => runs.save(stored('run-x', '2026-11-25T11:00:00.000Z', 2))).toThrow('disk full');
    expect(runs.get('run-x').results.requests.answered).toBe(1);
    expect(fs.readdirSync(path.join(home, 'runs', 'run-x'))).toEqual(['run.json']);
  });

  it('names the id and where it looked when a run is missing, and refuses ids that are not names', () => {
    const runs = new RunStore(home);
    expect(() => runs.get('run-nope')).toThrow(RunNotFoundError);
    expect(() => runs.get('run-nope')).toThrow(`no run "run-nope" in ${path.join(home, 'runs')}`);
    expect(() => runs.get('../envs/traffic')).toThrow(InvalidRunError);
    expect(() => runs.save(stored('a/b', '2026-11-25T10:00:00.000Z'))).toThrow(/invalid run id "a\/b"/);
  });

  it('lists runs newest first, skipping runs still in progress and reporting damaged files', () => {
    const runs = new RunStore(home);
    expect(runs.list()).toEqual([]); // no runs directory yet
    runs.save(stored('run-old', '2026-11-25T09:00:00.000Z'));
    runs.save(stored('run-new', '2026-11-25T11:00:00.000Z'));
    runs.save(stored('run-mid-b', '2026-11-25T10:00:00.000Z'));
    runs.save(stored('run-mid-a', '2026-11-25T10:00:00.000Z'));
    fs.mkdirSync(path.join(runs.dir, 'run-in-progress')); // a run that has not ended: no run.json yet
    fs.mkdirSync(path.join(runs.dir, 'run-broken'));
    fs.writeFileSync(path.join(runs.dir, 'run-broken', 'run.json'), '{"id": "run-broken", ');
    const problems: string[] = [];
    expect(runs.list((file, message) => problems.push(`${file}: ${message}`)).map((r) => r.id)).toEqual([
      'run-new',
      'run-mid-b',
      'run-mid-a',
      'run-old',
    ]);
    expect(problems).toEqual([
      expect.stringContaining(`${path.join(runs.dir, 'run-broken', 'run.json')}: not valid JSON`),
    ]);
  });

  it('says which fields a file that is not a run lacks', () => {
    const runs = new RunStore(home);
    fs.mkdirSync(path.join(runs.dir, 'run-odd'), { recursive: true });
    fs.writeFileSync(path.join(runs.dir, 'run-odd', 'run.json'), JSON.stringify({ id: 'run-odd', createdAt: 'x' }));
    expect(() => runs.get('run-odd')).toThrow(
      /run-odd\/run.json: not a stored run: missing layer, profile, candidate, target, results/,
    );
  });
});

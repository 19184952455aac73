import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { describe, expect, it } from 'vitest';
import { historyHasPatch } from '../../../src/temporal/history';

const HISTORIES = path.join(__dirname, '../../replay/histories');
const events = (file: string) =>
  historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8'))).events ?? [];

describe('which patches a recorded history ran with', () => {
  it('reads a patch from its own marker, or from the generation that folds it in', () => {
    // Recorded before the generation: one marker per patch.
    const perPatch = events('rec6-events.json');
    expect(historyHasPatch(perPatch, 'sealed-decisions')).toBe(true);
    expect(historyHasPatch(perPatch, 'server-side-ladder')).toBe(true);
    // Since the generation: one marker, for all of them.
    const generation = events('rec8-generation.json');
    expect(generation.filter((e) => e.markerRecordedEventAttributes).length).toBe(1);
    expect(historyHasPatch(generation, 'sealed-decisions')).toBe(true);
    expect(historyHasPatch(generation, 'server-side-ladder')).toBe(true);
    // A promotion from before sealed decisions and stored ladders.
    const old = events('demo-1.json');
    expect(historyHasPatch(old, 'sealed-decisions')).toBe(false);
    expect(historyHasPatch(old, 'server-side-ladder')).toBe(false);
  });
});

import * as sdk from '@temporalio/workflow';
import { describe, expect, it } from 'vitest';
import { defineQuery, defineSignal, defineUpdate } from '../../../workflows/define';
import * as messages from '../../../workflows/messages';
import * as environmentMessages from '../../../workflows/environment-messages';
import * as ladderMessages from '../../../workflows/ladder-messages';

// The message definitions are made without @temporalio/workflow (so that clients do not load it):
// they must be exactly what the SDK's define functions make, or handlers and callers would not meet.
describe('message definitions', () => {
  it('are what the SDK makes for the same name', () => {
    expect(defineUpdate('approve')).toEqual(sdk.defineUpdate('approve'));
    expect(defineSignal('layerProgress')).toEqual(sdk.defineSignal('layerProgress'));
    expect(defineQuery('status')).toEqual(sdk.defineQuery('status'));
  });

  it('are plain { type, name } values in every messages module', () => {
    const defs = [messages, environmentMessages, ladderMessages].flatMap((m) =>
      Object.values(m).filter(
        (v): v is { type: string; name: string } => typeof v === 'object' && v !== null && 'type' in v,
      ),
    );
    expect(defs.length).toBeGreaterThan(10);
    for (const def of defs) {
      const made: Record<string, unknown> = {
        update: sdk.defineUpdate(def.name),
        signal: sdk.defineSignal(def.name),
        query: sdk.defineQuery(def.name),
      };
      expect(def, def.name).toEqual(made[def.type]);
    }
  });
});

// Where `strata status` looks for Temporal's HTTP API (settings.httpApi), and how the HTTP reader
// turns the API's RFC 3339 event times into the Timestamps the gRPC client gives.

import { tsToDate } from '@temporalio/common/lib/time';
import { describe, expect, it } from 'vitest';
import { TemporalHttpError, timestampOf } from '../../../src/temporal/http-api';
import { loadSettings, SettingsError } from '../../../src/temporal/settings';

describe('settings.httpApi', () => {
  it('is the dev server Strata runs, its gRPC port + 10, when no TEMPORAL_ADDRESS names a cluster', () => {
    expect(loadSettings({}).httpApi).toBe('http://127.0.0.1:7243');
    expect(loadSettings({}, { port: 7400 }).httpApi).toBe('http://127.0.0.1:7410');
    expect(loadSettings({}, { port: 65530 }).httpApi).toBeUndefined();
  });

  it('is unset for a cluster named by TEMPORAL_ADDRESS, unless STRATA_TEMPORAL_HTTP names its API', () => {
    expect(loadSettings({ TEMPORAL_ADDRESS: 'temporal.internal:7233' }).httpApi).toBeUndefined();
    expect(
      loadSettings({
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        STRATA_TEMPORAL_HTTP: 'https://temporal.internal:7243/',
      }).httpApi,
    ).toBe('https://temporal.internal:7243');
    expect(loadSettings({ STRATA_TEMPORAL_HTTP: 'http://10.0.0.5:8080/temporal' }).httpApi).toBe(
      'http://10.0.0.5:8080/temporal',
    );
  });

  it('refuses a STRATA_TEMPORAL_HTTP that is no http(s) URL, naming the variable and the value', () => {
    for (const bad of ['127.0.0.1:7243', 'grpc://127.0.0.1:7233', 'http://h:1/?x=1', 'not a url']) {
      expect(() => loadSettings({ STRATA_TEMPORAL_HTTP: bad })).toThrow(SettingsError);
      expect(() => loadSettings({ STRATA_TEMPORAL_HTTP: bad })).toThrow(`STRATA_TEMPORAL_HTTP`);
      expect(() => loadSettings({ STRATA_TEMPORAL_HTTP: bad })).toThrow(`"${bad}"`);
    }
  });
});

describe('timestampOf', () => {
  it('reads RFC 3339 with nanoseconds, milliseconds, none, or an offset, to the millisecond', () => {
    expect(tsToDate(timestampOf('2026-12-04T14:58:58.287475815Z')).toISOString()).toBe('2026-12-04T14:58:58.287Z');
    expect(tsToDate(timestampOf('2026-12-04T14:58:58.2Z')).toISOString()).toBe('2026-12-04T14:58:58.200Z');
    expect(tsToDate(timestampOf('2026-12-04T14:58:58Z')).toISOString()).toBe('2026-12-04T14:58:58.000Z');
    expect(tsToDate(timestampOf('2026-12-04T15:58:58.5+01:00')).toISOString()).toBe('2026-12-04T14:58:58.500Z');
  });

  it('refuses what is not one', () => {
    for (const bad of ['', '2026-12-04', '2026-12-04 14:58:58Z', 'yesterday'])
      expect(() => timestampOf(bad)).toThrow(TemporalHttpError);
  });
});

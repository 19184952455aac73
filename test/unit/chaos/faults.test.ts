import { describe, expect, it } from 'vitest';
import { validate } from '../../../src/validation/errors';
import type { ToxicSpec } from '../../../src/chaos/client';
import type { ToxiproxyClient } from '../../../src/chaos/client';
import { applyFault, describeFault, type Fault, FaultError, faultSchema, toxicFor } from '../../../src/chaos/faults';

const KNOWN = 'latency, bandwidth, timeout, reset, down, kill-candidate';

/** Issues as a ladder reports them (the config error map, paths prefixed like a gate's options). */
function issuesOf(input: unknown): Array<{ path: string; message: string }> {
  const result = validate(faultSchema, input, ['layers', 4, 'gates', 0, 'options', 'fault']);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  return result.issues;
}

/** Issues from the schema alone (zod's default map), as a caller without the config layer sees them. */
function plainIssues(input: unknown): Array<{ path: string; message: string }> {
  const result = faultSchema.safeParse(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  return result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

const AT = 'layers[4].gates[0].options.fault';

describe('faultSchema', () => {
  it('accepts every fault type as it appears in ladder.yaml', () => {
    const faults: unknown[] = [
      { type: 'latency', latency: '200ms', jitter: '50ms' },
      { type: 'latency', latency: '1s', stream: 'upstream', toxicity: 0.5 },
      { type: 'bandwidth', rateKBps: 64 },
      { type: 'timeout', after: '1s' },
      { type: 'timeout', after: '0s' },
      { type: 'reset' },
      { type: 'reset', after: '100ms', toxicity: 0.1 },
      { type: 'down' },
      { type: 'kill-candidate' },
    ];
    for (const fault of faults) expect(faultSchema.parse(fault)).toEqual(fault);
  });

  it('names an unknown type and lists the known ones, at `type`', () => {
    expect(issuesOf({ type: 'latncy', latency: '200ms' })).toEqual([
      { path: `${AT}.type`, message: `unknown fault type "latncy"; known types: ${KNOWN}` },
    ]);
    expect(plainIssues({ type: 'packet-loss' })).toEqual([
      { path: 'type', message: `unknown fault type "packet-loss"; known types: ${KNOWN}` },
    ]);
    expect(plainIssues({ type: 3 })[0].message).toBe(`unknown fault type 3; known types: ${KNOWN}`);
  });

  it('says a missing type is missing, and what a fault is when it is not a mapping', () => {
    expect(issuesOf({ latency: '200ms' })).toEqual([
      { path: `${AT}.type`, message: `missing; expected a fault type, one of ${KNOWN}` },
    ]);
    expect(issuesOf('latency')).toEqual([
      { path: AT, message: `expected a fault: a mapping with a type (one of ${KNOWN}), got "latency"` },
    ]);
  });

  it('explains bad durations: not a duration, zero, sub-millisecond, missing', () => {
    expect(issuesOf({ type: 'latency', latency: 'fast' })).toEqual([
      {
        path: `${AT}.latency`,
        message: 'expected a latency: a duration such as "200ms", "1s" or "1.5s", got "fast"',
      },
    ]);
    expect(plainIssues({ type: 'latency', latency: '0ms' })).toEqual([
      { path: 'latency', message: 'expected a duration longer than zero, got "0ms"' },
    ]);
    expect(plainIssues({ type: 'latency', latency: '0.5ms' })).toEqual([
      { path: 'latency', message: 'expected whole milliseconds, got "0.5ms" (0.5 ms)' },
    ]);
    expect(plainIssues({ type: 'timeout' })).toEqual([
      {
        path: 'after',
        message:
          'missing; expected the time after which the connection is closed: a duration such as "200ms", "1s" or "1.5s"',
      },
    ]);
    expect(plainIssues({ type: 'latency', latency: 200 })[0].message).toMatch(
      /^expected a latency: a duration .*, got 200$/,
    );
  });

  it('refuses jitter larger than the latency', () => {
    expect(issuesOf({ type: 'latency', latency: '50ms', jitter: '100ms' })).toEqual([
      { path: `${AT}.jitter`, message: 'jitter 100ms is larger than latency 50ms: delays would go below zero' },
    ]);
  });

  it('explains a bad rate, toxicity and stream', () => {
    for (const rate of [0, -5, 1.5, '64']) {
      expect(plainIssues({ type: 'bandwidth', rateKBps: rate })).toEqual([
        {
          path: 'rateKBps',
          message: `expected a rate in KB/s (an integer >= 1), got ${typeof rate === 'string' ? `"${rate}"` : rate}`,
        },
      ]);
    }
    expect(plainIssues({ type: 'bandwidth' })).toEqual([
      { path: 'rateKBps', message: 'missing; expected a rate in KB/s (an integer >= 1)' },
    ]);
    for (const toxicity of [0, 1.5]) {
      expect(plainIssues({ type: 'reset', toxicity })).toEqual([
        { path: 'toxicity', message: `expected a share of connections > 0 and <= 1, got ${toxicity}` },
      ]);
    }
    expect(plainIssues({ type: 'reset', stream: 'sideways' })).toEqual([
      {
        path: 'stream',
        message:
          'expected "downstream" (dependency → candidate) or "upstream" (candidate → dependency), got "sideways"',
      },
    ]);
  });

  it('rejects keys a fault type does not have, naming the allowed ones (through the config layer)', () => {
    expect(issuesOf({ type: 'down', latency: '1s' })).toEqual([
      { path: `${AT}.latency`, message: 'unknown key "latency"; allowed keys: type' },
    ]);
    expect(issuesOf({ type: 'kill-candidate', signal: 'SIGKILL' })).toEqual([
      { path: `${AT}.signal`, message: 'unknown key "signal"; allowed keys: type' },
    ]);
  });
});

describe('toxicFor / describeFault', () => {
  it('maps faults to Toxiproxy toxics in milliseconds, with names derived from the fault', () => {
    expect(toxicFor({ type: 'latency', latency: '200ms', jitter: '50ms' })).toEqual({
      type: 'latency',
      name: 'strata-latency-downstream',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 200, jitter: 50 },
    });
    expect(toxicFor({ type: 'bandwidth', rateKBps: 64, stream: 'upstream' })).toMatchObject({
      type: 'bandwidth',
      name: 'strata-bandwidth-upstream',
      attributes: { rate: 64 },
    });
    expect(toxicFor({ type: 'timeout', after: '1.5s' })).toMatchObject({
      type: 'timeout',
      attributes: { timeout: 1500 },
    });
    expect(toxicFor({ type: 'reset', toxicity: 0.25 })).toMatchObject({
      type: 'reset_peer',
      toxicity: 0.25,
      attributes: { timeout: 0 },
    });
  });

  it('describes faults for people', () => {
    expect(describeFault({ type: 'latency', latency: '200ms', jitter: '50ms' })).toBe(
      'latency 200ms ± 50ms (downstream)',
    );
    expect(describeFault({ type: 'reset', toxicity: 0.1 })).toBe('connections reset (downstream, 10% of connections)');
    expect(describeFault({ type: 'timeout', after: '1s' })).toBe(
      'data stops, connections closed after 1s (downstream)',
    );
    expect(describeFault({ type: 'down' })).toBe('dependency down (proxy disabled)');
  });
});

describe('applyFault', () => {
  function fakeClient() {
    const calls: string[] = [];
    const client = {
      addToxic: async (proxy: string, spec: ToxicSpec) => {
        calls.push(`add ${proxy} ${spec.name} ${JSON.stringify(spec.attributes)}`);
        return { ...spec, name: spec.name!, stream: spec.stream!, toxicity: spec.toxicity! };
      },
      removeToxic: async (proxy: string, name: string) => {
        calls.push(`remove ${proxy} ${name}`);
        return true;
      },
      setEnabled: async (proxy: string, enabled: boolean) => {
        calls.push(`enabled ${proxy} ${enabled}`);
        return { name: proxy, listen: '', upstream: '', enabled, toxics: [] };
      },
    };
    return { calls, client: client as unknown as ToxiproxyClient };
  }

  it('adds a toxic and returns the undo that removes it', async () => {
    const { calls, client } = fakeClient();
    const undo = await applyFault(client, 'features', { type: 'latency', latency: '200ms' });
    await undo();
    expect(calls).toEqual([
      'add features strata-latency-downstream {"latency":200,"jitter":0}',
      'remove features strata-latency-downstream',
    ]);
  });

  it('disables the proxy for `down` and re-enables it on undo', async () => {
    const { calls, client } = fakeClient();
    const undo = await applyFault(client, 'features', { type: 'down' });
    await undo();
    expect(calls).toEqual(['enabled features false', 'enabled features true']);
  });

  it('refuses kill-candidate: the caller carries it out', async () => {
    const { calls, client } = fakeClient();
    const fault: Fault = { type: 'kill-candidate' };
    await expect(applyFault(client, 'features', fault)).rejects.toThrow(FaultError);
    await expect(applyFault(client, 'features', fault)).rejects.toThrow(/carried out by the caller/);
    expect(calls).toEqual([]);
  });
});

// Faults as a ladder declares them (`fault:` of a chaos gate), validated with zod, and how each is
// applied to a Toxiproxy proxy standing between the candidate and its dependency.
//
//   { type: latency, latency: 200ms, jitter: 50ms }   every chunk delayed by latency ± jitter
//   { type: bandwidth, rateKBps: 64 }                  throughput capped at 64 KB/s
//   { type: timeout, after: 1s }                       data stops; the connection closes after 1 s
//                                                      (after: 0s: it is never closed)
//   { type: reset, after: 0s }                         connections reset (TCP RST) once data flows
//   { type: down }                                     the proxy is disabled: a full outage
//   { type: kill-candidate }                           the caller kills the candidate's process
//
// Toxic faults take optional `stream` (downstream: dependency → candidate, the default; upstream:
// candidate → dependency) and `toxicity` (the share of connections affected, 0 < t ≤ 1, default 1:
// `toxicity: 0.1` with `reset` is a dependency failing one connection in ten).

import { z } from 'zod';
import { describeValue, expectedGot } from '../validation/errors';
import { parseDuration } from '../domain/duration';
import type { ToxiproxyClient } from './client';

export const FAULT_TYPES = ['latency', 'bandwidth', 'timeout', 'reset', 'down', 'kill-candidate'] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

export class FaultError extends Error {
  override name = 'FaultError';
}

const knownTypes = FAULT_TYPES.join(', ');
const DURATION_HINT = 'a duration such as "200ms", "1s" or "1.5s"';

/** A duration string in whole milliseconds (Toxiproxy's unit); the text is kept as written. */
function durationSchema(what: string, opts: { min: number }) {
  return z
    .string({ error: (issue) => expectedGot(`${what}: ${DURATION_HINT}`, issue.input) })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected ${what}: ${DURATION_HINT}, got ${describeValue(text)}` });
        return z.NEVER;
      }
      if (!Number.isInteger(ms)) {
        ctx.addIssue({ code: 'custom', message: `expected whole milliseconds, got ${describeValue(text)} (${ms} ms)` });
        return z.NEVER;
      }
      if (ms < opts.min) {
        const bound = opts.min === 1 ? 'longer than zero' : `of at least ${opts.min} ms`;
        ctx.addIssue({ code: 'custom', message: `expected a duration ${bound}, got ${describeValue(text)}` });
        return z.NEVER;
      }
      return text.trim();
    });
}

const toxicOptions = {
  stream: z
    .enum(['downstream', 'upstream'], {
      error: (issue) =>
        expectedGot('"downstream" (dependency → candidate) or "upstream" (candidate → dependency)', issue.input),
    })
    .optional(),
  toxicity: z
    .number({ error: (issue) => expectedGot('a share of connections > 0 and <= 1', issue.input) })
    .gt(0, { error: (issue) => expectedGot('a share of connections > 0 and <= 1', issue.input) })
    .max(1, { error: (issue) => expectedGot('a share of connections > 0 and <= 1', issue.input) })
    .optional(),
};

const latencyFault = z
  .strictObject({
    type: z.literal('latency'),
    latency: durationSchema('a latency', { min: 1 }),
    jitter: durationSchema('a jitter', { min: 0 }).optional(),
    ...toxicOptions,
  })
  .superRefine((fault, ctx) => {
    if (fault.jitter !== undefined && ms(fault.jitter) > ms(fault.latency)) {
      ctx.addIssue({
        code: 'custom',
        path: ['jitter'],
        input: fault.jitter,
        message: `jitter ${fault.jitter} is larger than latency ${fault.latency}: delays would go below zero`,
      });
    }
  });

const bandwidthFault = z.strictObject({
  type: z.literal('bandwidth'),
  rateKBps: z
    .number({ error: (issue) => expectedGot('a rate in KB/s (an integer >= 1)', issue.input) })
    .int({ error: (issue) => expectedGot('a rate in KB/s (an integer >= 1)', issue.input) })
    .min(1, { error: (issue) => expectedGot('a rate in KB/s (an integer >= 1)', issue.input) }),
  ...toxicOptions,
});

const timeoutFault = z.strictObject({
  type: z.literal('timeout'),
  after: durationSchema('the time after which the connection is closed', { min: 0 }),
  ...toxicOptions,
});

const resetFault = z.strictObject({
  type: z.literal('reset'),
  after: durationSchema('the time after which the connection is reset', { min: 0 }).optional(),
  ...toxicOptions,
});

const downFault = z.strictObject({ type: z.literal('down') });
const killCandidateFault = z.strictObject({ type: z.literal('kill-candidate') });

/** One fault of a chaos gate. Unknown or missing `type` → an error at `type` listing the known types. */
export const faultSchema = z.discriminatedUnion(
  'type',
  [latencyFault, bandwidthFault, timeoutFault, resetFault, downFault, killCandidateFault],
  {
    error: (issue) => {
      if (issue.code === 'invalid_union') {
        const type = (issue.input as { type?: unknown } | undefined)?.type;
        return type === undefined
          ? `missing; expected a fault type, one of ${knownTypes}`
          : `unknown fault type ${describeValue(type)}; known types: ${knownTypes}`;
      }
      if (issue.code === 'invalid_type') {
        return expectedGot(`a fault: a mapping with a type (one of ${knownTypes})`, issue.input);
      }
      return undefined;
    },
  },
);

export type Fault = z.output<typeof faultSchema>;
export type FaultInput = z.input<typeof faultSchema>;
/** The faults that are toxics on the proxy. */
export type ToxicFault = Extract<Fault, { type: 'latency' | 'bandwidth' | 'timeout' | 'reset' }>;

function ms(duration: string): number {
  const value = parseDuration(duration);
  if (value === undefined) throw new FaultError(`not a duration: ${JSON.stringify(duration)}`);
  return value;
}

/** A Toxiproxy toxic for a toxic fault; its name is derived from the fault, so applying twice replaces, never adds. */
export function toxicFor(fault: ToxicFault): {
  type: string;
  name: string;
  stream: 'downstream' | 'upstream';
  toxicity: number;
  attributes: Record<string, number>;
} {
  const stream = fault.stream ?? 'downstream';
  const toxicity = fault.toxicity ?? 1;
  switch (fault.type) {
    case 'latency':
      return {
        type: 'latency',
        name: `strata-latency-${stream}`,
        stream,
        toxicity,
        attributes: { latency: ms(fault.latency), jitter: fault.jitter === undefined ? 0 : ms(fault.jitter) },
      };
    case 'bandwidth':
      return {
        type: 'bandwidth',
        name: `strata-bandwidth-${stream}`,
        stream,
        toxicity,
        attributes: { rate: fault.rateKBps },
      };
    case 'timeout':
      return {
        type: 'timeout',
        name: `strata-timeout-${stream}`,
        stream,
        toxicity,
        attributes: { timeout: ms(fault.after) },
      };
    case 'reset':
      return {
        type: 'reset_peer',
        name: `strata-reset-${stream}`,
        stream,
        toxicity,
        attributes: { timeout: fault.after === undefined ? 0 : ms(fault.after) },
      };
  }
}

/** One line for people: "latency 200ms ± 50ms (downstream, 10% of connections)". */
export function describeFault(fault: Fault): string {
  const scope = (f: ToxicFault): string => {
    const parts: string[] = [f.stream ?? 'downstream'];
    if (f.toxicity !== undefined && f.toxicity < 1) parts.push(`${Math.round(f.toxicity * 1000) / 10}% of connections`);
    return ` (${parts.join(', ')})`;
  };
  switch (fault.type) {
    case 'latency':
      return `latency ${fault.latency}${fault.jitter ? ` ± ${fault.jitter}` : ''}${scope(fault)}`;
    case 'bandwidth':
      return `bandwidth ${fault.rateKBps} KB/s${scope(fault)}`;
    case 'timeout':
      return `${ms(fault.after) === 0 ? 'data stops, connections held open' : `data stops, connections closed after ${fault.after}`}${scope(fault)}`;
    case 'reset':
      return `connections reset${fault.after && ms(fault.after) > 0 ? ` after ${fault.after}` : ''}${scope(fault)}`;
    case 'down':
      return 'dependency down (proxy disabled)';
    case 'kill-candidate':
      return "candidate's process killed";
  }
}

/**
 * Applies `fault` to the proxy and returns the function that undoes it. Idempotent: applying the
 * same fault again (an activity retry) replaces the toxic rather than stacking a second one, and
 * the undo can run any number of times. `kill-candidate` is not a proxy fault: the caller kills
 * the candidate's process itself, so it is refused here.
 */
export async function applyFault(
  client: ToxiproxyClient,
  proxyName: string,
  fault: Fault,
): Promise<() => Promise<void>> {
  switch (fault.type) {
    case 'down':
      await client.setEnabled(proxyName, false);
      return async () => {
        await client.setEnabled(proxyName, true);
      };
    case 'kill-candidate':
      throw new FaultError(
        'the kill-candidate fault is carried out by the caller (the provider kills the candidate process), not by the proxy',
      );
    default: {
      const toxic = toxicFor(fault);
      await client.addToxic(proxyName, toxic);
      return async () => {
        await client.removeToxic(proxyName, toxic.name);
      };
    }
  }
}

// A traffic profile: what load to send, as it appears in ladder.yaml under a gate's options and in
// every stored run. An open model (arrivals on a clock, whatever the server does) made of phases
// played one after another, a throttle on concurrency, and where request bodies come from.
//
// The parsed profile stays plain JSON with durations as the strings the user wrote, so parsing it
// again (a gate re-parses its options; `strata replay` re-parses a stored run) gives the same value.

import { z } from 'zod';
import { describeValue, expectedGot } from '../validation/errors';
import { DURATION_HINT, parseDuration } from '../domain/duration';

/** More requests than this in one run is almost certainly a typo (and would not fit in memory well). */
export const MAX_REQUESTS_PER_RUN = 5_000_000;

const RATE_EXPECTED = 'a rate > 0 requests/s';

const rate = z
  .number({ error: (issue) => expectedGot(RATE_EXPECTED, issue.input) })
  .refine((n) => Number.isFinite(n) && n > 0, {
    error: (issue) => `expected ${RATE_EXPECTED}, got ${describeValue(issue.input)}`,
  });

const duration = z.string({ error: (issue) => expectedGot(DURATION_HINT, issue.input) }).superRefine((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined)
    ctx.addIssue({ code: 'custom', message: `expected ${DURATION_HINT}, got ${describeValue(text)}` });
  else if (ms <= 0)
    ctx.addIssue({ code: 'custom', message: `expected a duration longer than zero, got ${describeValue(text)}` });
});

const constantPhase = z.strictObject({ rate, duration });
const rampPhase = z.strictObject({ from: rate, to: rate, duration });

export type ConstantPhase = { constant: z.infer<typeof constantPhase> };
export type RampPhase = { ramp: z.infer<typeof rampPhase> };
/** A burst is a constant rate, named apart so a profile reads as what it means (a spike). */
export type BurstPhase = { burst: z.infer<typeof constantPhase> };
export type LoadPhase = ConstantPhase | RampPhase | BurstPhase;

const PHASE_KINDS = ['constant', 'ramp', 'burst'] as const;
const PHASE_EXAMPLE = '{ constant: { rate: 50, duration: 30s } }';

// One object with three optional keys and a check for exactly one, rather than a zod union: a
// union of strict objects reports "no allowed form matches" where this reports the field at fault.
const phase = z
  .strictObject(
    { constant: constantPhase.optional(), ramp: rampPhase.optional(), burst: constantPhase.optional() },
    { error: (issue) => expectedGot(`a phase such as ${PHASE_EXAMPLE}`, issue.input) },
  )
  .superRefine((p, ctx) => {
    const kinds = PHASE_KINDS.filter((k) => p[k] !== undefined);
    if (kinds.length === 0)
      ctx.addIssue({ code: 'custom', message: `expected one of ${PHASE_KINDS.join(', ')}, e.g. ${PHASE_EXAMPLE}` });
    if (kinds.length > 1)
      ctx.addIssue({
        code: 'custom',
        message: `a phase is exactly one of ${PHASE_KINDS.join(', ')}; got ${kinds.join(' and ')}`,
      });
  })
  .transform((p) => p as LoadPhase);

const requestSource = z.discriminatedUnion(
  'source',
  [
    z.strictObject({ source: z.literal('environment') }),
    z.strictObject({
      source: z.literal('replay'),
      file: z
        .string({ error: (issue) => expectedGot('the path of a JSONL file, one request body a line', issue.input) })
        .min(1),
    }),
  ],
  {
    error: (issue) =>
      issue.input !== null && typeof issue.input === 'object'
        ? `expected source "environment" or "replay", got ${describeValue((issue.input as { source?: unknown }).source)}`
        : expectedGot('{ source: environment } or { source: replay, file: requests.jsonl }', issue.input),
  },
);

export type RequestSource = z.infer<typeof requestSource>;

export const loadProfileSchema = z
  .strictObject({
    phases: z.array(phase).min(1),
    /** The throttle: at most this many requests in flight; later ones queue (from their intended time). */
    maxConcurrency: z.number().int().min(1).max(10_000).default(64),
    /** A sent request with no answer after this long is a timeout; so is one that waited this long for a slot. */
    timeoutMs: z.number().int().min(1).max(600_000).default(2000),
    requests: requestSource.default({ source: 'environment' }),
    /** Orders the environment's records (the same seed sends the same bodies in the same order). */
    seed: z.number().int().default(1),
    /** Records per request body. */
    batch: z.number().int().min(1).max(10_000).default(1),
  })
  .superRefine((profile, ctx) => {
    const total = plannedRequests(profile.phases);
    if (total > MAX_REQUESTS_PER_RUN) {
      ctx.addIssue({
        code: 'custom',
        path: ['phases'],
        message: `the phases send ${Math.round(total)} requests; at most ${MAX_REQUESTS_PER_RUN} per run (lower a rate or a duration)`,
      });
    }
  });

export type LoadProfile = z.output<typeof loadProfileSchema>;
export type LoadProfileInput = z.input<typeof loadProfileSchema>;

function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new Error(`invalid duration ${JSON.stringify(text)}: expected ${DURATION_HINT}`);
  return ms;
}

/** Milliseconds, start rate and end rate (requests/s) of a phase; a constant phase starts and ends at its rate. */
export function phaseShape(p: LoadPhase): { ms: number; from: number; to: number; kind: (typeof PHASE_KINDS)[number] } {
  if ('ramp' in p) return { ms: durationMs(p.ramp.duration), from: p.ramp.from, to: p.ramp.to, kind: 'ramp' };
  if ('burst' in p) return { ms: durationMs(p.burst.duration), from: p.burst.rate, to: p.burst.rate, kind: 'burst' };
  return { ms: durationMs(p.constant.duration), from: p.constant.rate, to: p.constant.rate, kind: 'constant' };
}

/** Requests the phases send (the area under the rate curve), before rounding to whole requests. */
function plannedRequests(phases: LoadPhase[]): number {
  let total = 0;
  for (const p of phases) {
    const ms = parseDuration(Object.values(p)[0]?.duration ?? '');
    if (ms === undefined || ms <= 0) continue; // reported by the field's own check
    const { from, to } = phaseShape(p);
    total += ((from + to) / 2) * (ms / 1000);
  }
  return total;
}

/** Total planned duration of the profile in milliseconds. */
export function profileDurationMs(profile: Pick<LoadProfile, 'phases'>): number {
  return profile.phases.reduce((sum, p) => sum + phaseShape(p).ms, 0);
}

/**
 * The intended send times of every request, in milliseconds from the start of the run, ascending.
 *
 * Request k of a phase goes out when the cumulative number of arrivals N(t) = ∫₀ᵗ rate reaches k,
 * for every k with N(t) = k inside the phase (so a phase of rate r over d seconds sends ⌈r·d⌉
 * requests, the first at the phase's start). For a constant rate N(t) = r·t and the sends are
 * evenly spaced 1/r apart. For a ramp from a to b over D seconds, rate(t) = a + (b − a)·t/D, so
 * N(t) = a·t + (b − a)·t²/(2D); solving N(t) = k gives t = 2k / (a + √(a² + 2k(b − a)/D)), a form
 * that is exact for a = b and stays accurate when b − a is tiny. A burst is a constant phase.
 */
export function intendedSchedule(profile: Pick<LoadProfile, 'phases'>): Float64Array {
  const shapes = profile.phases.map(phaseShape);
  // N at the end of the phase is (a + b)/2 · D; the count of k in [0, N) is ⌈N⌉ (with a little
  // slack so 10 requests/s × 1 s gives 10 requests, not 11 after rounding noise).
  const counts = shapes.map((s) => Math.max(0, Math.ceil(((s.from + s.to) / 2) * (s.ms / 1000) - 1e-9)));
  const out = new Float64Array(counts.reduce((a, b) => a + b, 0));
  let at = 0;
  let offsetMs = 0;
  shapes.forEach((s, i) => {
    const seconds = s.ms / 1000;
    const slope = (s.to - s.from) / seconds;
    for (let k = 0; k < counts[i]; k++) {
      const t = s.from === s.to ? k / s.from : (2 * k) / (s.from + Math.sqrt(s.from * s.from + 2 * k * slope));
      out[at++] = offsetMs + Math.min(t * 1000, s.ms);
    }
    offsetMs += s.ms;
  });
  return out;
}

/** The profile's average intended rate, requests/s. */
export function targetRate(profile: Pick<LoadProfile, 'phases'>): number {
  const ms = profileDurationMs(profile);
  return ms > 0 ? intendedCount(profile) / (ms / 1000) : 0;
}

/** Number of requests the profile intends to send. */
export function intendedCount(profile: Pick<LoadProfile, 'phases'>): number {
  return profile.phases
    .map(phaseShape)
    .reduce((sum, s) => sum + Math.max(0, Math.ceil(((s.from + s.to) / 2) * (s.ms / 1000) - 1e-9)), 0);
}

/** One line describing the phases, e.g. "constant 50/s for 30s, ramp 50→200/s over 1m". */
export function describePhases(profile: Pick<LoadProfile, 'phases'>): string {
  return profile.phases
    .map((p) => {
      if ('ramp' in p) return `ramp ${p.ramp.from}→${p.ramp.to}/s over ${p.ramp.duration}`;
      if ('burst' in p) return `burst ${p.burst.rate}/s for ${p.burst.duration}`;
      return `constant ${p.constant.rate}/s for ${p.constant.duration}`;
    })
    .join(', ');
}

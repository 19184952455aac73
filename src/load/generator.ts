// The load generator: an open model on a clock. Requests go out at the profile's intended times
// whatever the server does; a slow server makes later requests wait for a free slot (the throttle),
// and their latency still counts from when they were meant to go out. That is the correction for
// coordinated omission: a closed-loop client that waits for each answer before sending the next
// quietly sends less when the server stalls, and its percentiles never see the stall.
//
// Built on undici's Pool with raw dispatch handlers (no body streams, no promise per request) so
// the generator itself is not what limits throughput. One timer drives sending, one timer drives
// timeouts: requests are dispatched one after another, so a new request's deadline (send time +
// timeoutMs) is never earlier than a pending timer's, and the timer only needs re-arming (for the
// earliest deadline among the at most maxConcurrency requests in flight) when it fires.
//
// Two budgets of timeoutMs each: a request still waiting for a slot timeoutMs after its intended
// time is dropped (counted as a timeout the server never saw), and a sent request gets timeoutMs
// to answer. Giving a late request its whole budget once sent, rather than what is left of it,
// keeps an overloaded server from being sent requests that are cut off (and their connections
// torn down) a moment later.

import { performance } from 'node:perf_hooks';
import { build, type Histogram } from 'hdr-histogram-js';
import { type Dispatcher, Pool } from 'undici';
import { intendedSchedule, type LoadProfile, profileDurationMs } from './profile';

export const RUN_ID_HEADER = 'x-strata-run-id';

export interface LoadProgress {
  runId: string;
  elapsedMs: number;
  /** Requests in the whole schedule. */
  intended: number;
  /** Requests dispatched so far. */
  sent: number;
  /** Requests whose outcome is known (answered, timed out, dropped or failed to connect). */
  done: number;
  errors: number;
  inFlight: number;
}

/** Latency percentiles in milliseconds (µs resolution); null when nothing was measured. */
export interface LatencySummary {
  count: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

/**
 * One second of the run, by completion time: the answers that arrived in it and their latency
 * (from the intended send time). `intended`/`sent` count requests by their intended/actual send
 * second. A window is partial when it reaches past the planned end of the run (the drain) or the
 * abort; compare leaves partial windows out of its noise estimate.
 */
export interface LoadWindow {
  second: number;
  intended: number;
  sent: number;
  answered: number;
  /** Requests whose outcome became known in this second (answered, timed out, dropped or failed). */
  done: number;
  /** Of those, the ones that count as errors. */
  errors: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
  partial: boolean;
}

export interface LoadResult {
  runId: string;
  /** The URL the requests went to. */
  target: string;
  startedAt: string;
  finishedAt: string;
  plannedDurationMs: number;
  /** From the start until the last outcome was known. */
  durationMs: number;
  /** The caller's signal stopped the run; the figures cover what happened until then. */
  aborted: boolean;
  maxConcurrency: number;
  timeoutMs: number;
  requests: {
    /** In the profile's schedule. */
    intended: number;
    /** Dispatched to the server. */
    sent: number;
    /** Got an HTTP answer (any status). */
    answered: number;
    /** Answered 2xx. */
    ok: number;
    /** In flight when the run was aborted (no outcome; not counted as errors). */
    cancelled: number;
    /** Never sent because the run was aborted first. */
    unsent: number;
  };
  errors: {
    /** Non-2xx answers + timeouts + dropped + connection errors. */
    total: number;
    /** total / requests with a known outcome (0 when there are none). */
    rate: number;
    /** Non-2xx answers by status code. */
    byStatus: Record<string, number>;
    /** Sent, but no complete answer within timeoutMs of being sent. */
    timeouts: number;
    /** Never sent: still waiting for a free slot (maxConcurrency in flight) timeoutMs after its intended time. */
    dropped: number;
    /** Could not connect, or the connection failed mid-request. */
    connection: number;
    connectionByCode: Record<string, number>;
  };
  /** Latency of every answered request, measured from its intended send time (corrected for coordinated omission). */
  latencyMs: LatencySummary;
  /** Latency of every answered request from its actual send time (what a closed-loop client would report). */
  serviceTimeMs: LatencySummary;
  /** Answered requests per second over durationMs. */
  throughput: number;
  /** Requests per second the profile asks for (up to the abort, when aborted). */
  targetRate: number;
  /** Requests per second actually sent: sent / max(planned end, last send). */
  achievedRate: number;
  /** achievedRate as a percentage of targetRate. */
  achievedRatePercent: number;
  windows: LoadWindow[];
}

export interface LoadOptions {
  /** e.g. http://127.0.0.1:41234 (a path prefix is kept). */
  baseUrl: string;
  path?: string;
  profile: LoadProfile;
  /** Body of request i: a string or bytes are sent as they are, anything else as JSON. */
  bodies: (i: number) => unknown;
  runId: string;
  signal?: AbortSignal;
  onProgress?: (progress: LoadProgress) => void;
  progressEveryMs?: number;
}

/** Thrown back to undici to cut a request short; never escapes runLoad. */
class RequestTimeout extends Error {
  override name = 'RequestTimeout';
}

const US_PER_MS = 1000;

function histogram(digits: 2 | 3): Histogram {
  return build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: digits,
    autoResize: true,
  });
}

const ms3 = (us: number): number => Math.round(us) / US_PER_MS;

function summarise(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, mean: null, p50: null, p90: null, p99: null, p999: null, max: null };
  return {
    count: h.totalCount,
    mean: ms3(h.mean),
    p50: ms3(h.getValueAtPercentile(50)),
    p90: ms3(h.getValueAtPercentile(90)),
    p99: ms3(h.getValueAtPercentile(99)),
    p999: ms3(h.getValueAtPercentile(99.9)),
    max: ms3(h.maxValue),
  };
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.code ?? e?.cause?.code ?? e?.name;
  return typeof code === 'string' && code.length > 0 ? code : 'UNKNOWN';
}

function encodeBody(body: unknown): string | Uint8Array {
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  return JSON.stringify(body);
}

/** A counter per second, grown on demand. */
class PerSecond {
  readonly counts: number[] = [];
  add(second: number): void {
    while (this.counts.length <= second) this.counts.push(0);
    this.counts[second]++;
  }
  at(second: number): number {
    return this.counts[second] ?? 0;
  }
}

/**
 * One request in flight, and its own undici dispatch handler. It uses undici's original handler
 * callbacks (onConnect … onComplete) rather than the controller-based ones: those are adapted to
 * these by a wrapper that also parses every response's headers into an object, work and garbage
 * this generator does not need at tens of thousands of requests a second.
 */
class InFlight {
  status = 0;
  /** Outcome counted (answered, timed out, failed or cancelled): later callbacks are ignored. */
  settled = false;
  timedOut = false;
  /** Index in the run's list of requests in flight. */
  slot = -1;
  private abort: ((err: Error) => void) | null = null;

  constructor(
    readonly intendedMs: number,
    readonly sentMs: number,
    readonly deadlineMs: number,
    private readonly done: (req: InFlight, err: Error | null) => void,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.settled) abort(new RequestTimeout()); // timed out before it reached a socket
  }

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(): boolean {
    return true; // the body is read and dropped: only the status and the timing matter
  }

  onComplete(): void {
    this.done(this, null);
  }

  onError(err: Error): void {
    this.done(this, err);
  }

  cancel(): void {
    this.abort?.(new RequestTimeout());
  }
}

/** Sends the profile's load to `baseUrl + path` and measures it. Never rejects for a failing server; see LoadResult. */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  return new Promise<LoadResult>((resolve, reject) => {
    const { profile, runId, signal } = opts;
    const base = new URL(opts.baseUrl);
    const requestPath = `${base.pathname.replace(/\/+$/, '')}${opts.path ?? '/predict'}`;
    const target = `${base.origin}${requestPath}`;
    const schedule = intendedSchedule(profile);
    const n = schedule.length;
    const plannedMs = profileDurationMs(profile);
    const { maxConcurrency, timeoutMs } = profile;
    const headers = { 'content-type': 'application/json', [RUN_ID_HEADER]: runId };
    const pool = new Pool(base.origin, {
      connections: maxConcurrency,
      pipelining: 1,
      connect: { timeout: Math.min(timeoutMs, 10_000) },
      // Our own deadline cuts requests short; undici's per-request timers would only add work.
      headersTimeout: 0,
      bodyTimeout: 0,
    });

    const latency = histogram(3);
    const service = histogram(3);
    const windowHist = histogram(2);
    const windows: Array<Omit<LoadWindow, 'intended' | 'sent' | 'partial'>> = [];
    let windowSecond = 0;
    let windowAnswered = 0;
    let windowDone = 0;
    let windowErrors = 0;
    const sentPerSecond = new PerSecond();

    let next = 0;
    let inFlight = 0;
    let sent = 0;
    let answered = 0;
    let ok = 0;
    let timeouts = 0;
    let dropped = 0;
    let connection = 0;
    let lastSendMs = 0;
    let lastOutcomeMs = 0;
    const byStatus: Record<string, number> = {};
    const connectionByCode: Record<string, number> = {};
    // Requests in flight, unordered; each knows its index, so one leaves in O(1) when it settles.
    const active: InFlight[] = [];

    let finished = false;
    let aborted = false;
    let sendTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
    let deadlineTimer: NodeJS.Timeout | undefined;
    /** Set while expire() counts timeouts; it arms the next deadline itself afterwards. */
    let expiring = false;
    let progressTimer: NodeJS.Timeout | undefined;

    const startedAt = new Date();
    const t0 = performance.now();
    const now = (): number => performance.now() - t0;
    const errorsSoFar = (): number => answered - ok + timeouts + dropped + connection;

    /** Closes every window that ended before `second`. */
    const rollWindows = (second: number): void => {
      while (windowSecond < second) {
        const s = windowHist.totalCount > 0 ? summarise(windowHist) : null;
        windows.push({
          second: windowSecond,
          answered: windowAnswered,
          done: windowDone,
          errors: windowErrors,
          p50: s?.p50 ?? null,
          p90: s?.p90 ?? null,
          p99: s?.p99 ?? null,
          p999: s?.p999 ?? null,
          max: s?.max ?? null,
        });
        windowHist.reset();
        windowAnswered = 0;
        windowDone = 0;
        windowErrors = 0;
        windowSecond++;
      }
    };

    const outcome = (req: InFlight | null, at: number): void => {
      if (req) {
        req.settled = true;
        inFlight--;
        const last = active.pop()!;
        if (last !== req) {
          active[req.slot] = last;
          last.slot = req.slot;
        }
      }
      lastOutcomeMs = at;
      rollWindows(Math.floor(at / 1000));
      windowDone++;
    };

    const onAnswer = (req: InFlight): void => {
      const at = now();
      outcome(req, at);
      answered++;
      const us = Math.max(1, Math.round((at - req.intendedMs) * US_PER_MS));
      latency.recordValue(us);
      service.recordValue(Math.max(1, Math.round((at - req.sentMs) * US_PER_MS)));
      windowHist.recordValue(us);
      windowAnswered++;
      if (req.status >= 200 && req.status < 300) ok++;
      else {
        byStatus[req.status] = (byStatus[req.status] ?? 0) + 1;
        windowErrors++;
      }
      pump();
    };

    const onFailure = (req: InFlight, err: Error): void => {
      outcome(req, now());
      windowErrors++;
      if (req.timedOut || err instanceof RequestTimeout) timeouts++;
      else {
        connection++;
        const code = errorCode(err);
        connectionByCode[code] = (connectionByCode[code] ?? 0) + 1;
      }
      pump();
    };

    const settle = (req: InFlight, err: Error | null): void => {
      if (req.settled || finished) return;
      if (err === null) onAnswer(req);
      else onFailure(req, err);
    };

    const send = (index: number, intendedMs: number, at: number): void => {
      const body = encodeBody(opts.bodies(index));
      const req = new InFlight(intendedMs, at, at + timeoutMs, settle);
      inFlight++;
      sent++;
      lastSendMs = at;
      sentPerSecond.add(Math.floor(at / 1000));
      req.slot = active.length;
      active.push(req);
      // Later sends have later deadlines: a pending timer is already early enough.
      if (deadlineTimer === undefined && !expiring) armDeadline(req.deadlineMs);
      pool.dispatch({ path: requestPath, method: 'POST', headers, body }, req as Dispatcher.DispatchHandler);
    };

    /** Sends every request that is due, as far as the throttle allows; then sleeps until the next one. */
    const pump = (): void => {
      try {
        sendDue();
      } catch (err) {
        fail(err); // bodies(i) threw: a bug or bad data, not a server failure
      }
    };

    const sendDue = (): void => {
      if (finished) return;
      const at = now();
      while (next < n && inFlight < maxConcurrency) {
        const due = schedule[next];
        if (due > at) break;
        if (at - due >= timeoutMs) {
          // Held by the throttle past its whole timeout: a timeout the server never saw.
          outcome(null, at);
          dropped++;
          windowErrors++;
          next++;
          continue;
        }
        send(next++, due, at);
      }
      if (next >= n) {
        if (inFlight === 0) finish();
        return;
      }
      // Saturated: the next answer (or timeout) calls pump again. Otherwise wake up when due.
      if (inFlight < maxConcurrency && sendTimer === undefined) {
        const wait = schedule[next] - at;
        const wake = (): void => {
          sendTimer = undefined;
          pump();
        };
        sendTimer = wait >= 1 ? setTimeout(wake, Math.floor(wait)) : setImmediate(wake);
      }
    };

    const armDeadline = (deadlineMs: number): void => {
      if (finished) return;
      deadlineTimer = setTimeout(expire, Math.max(1, Math.ceil(deadlineMs - now())));
    };

    const expire = (): void => {
      deadlineTimer = undefined;
      if (finished) return;
      const at = now();
      // Collect first, then count: counting frees slots and sends more requests.
      const expired = active.filter((req) => req.deadlineMs <= at);
      expiring = true;
      try {
        for (const req of expired) {
          if (finished) return;
          if (req.settled) continue;
          req.timedOut = true;
          // Count it now and free its slot; undici finishes tearing the request down on its own.
          onFailure(req, new RequestTimeout());
          req.cancel();
        }
      } finally {
        expiring = false;
      }
      if (finished || active.length === 0) return;
      let earliest = Infinity;
      for (const req of active) earliest = Math.min(earliest, req.deadlineMs);
      armDeadline(earliest);
    };

    const progress = (): LoadProgress => ({
      runId,
      elapsedMs: Math.round(now()),
      intended: n,
      sent,
      done: answered + timeouts + dropped + connection,
      errors: errorsSoFar(),
      inFlight,
    });

    const cleanup = (): void => {
      if (sendTimer !== undefined) {
        clearTimeout(sendTimer as NodeJS.Timeout);
        clearImmediate(sendTimer as NodeJS.Immediate);
      }
      if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
      if (progressTimer !== undefined) clearInterval(progressTimer);
      signal?.removeEventListener('abort', onAbort);
    };

    const result = (): LoadResult => {
      const end = now();
      const durationMs = aborted ? end : Math.max(lastOutcomeMs, lastSendMs);
      rollWindows(Math.floor(durationMs / 1000) + 1);
      // Up to the abort, the profile asked for the requests intended before it.
      const windowEndMs = aborted ? end : plannedMs;
      const intendedDue = aborted ? countBelow(schedule, end) : n;
      const targetRate = windowEndMs > 0 ? intendedDue / (windowEndMs / 1000) : 0;
      const sendWindowMs = Math.max(windowEndMs, lastSendMs);
      const achievedRate = sendWindowMs > 0 ? sent / (sendWindowMs / 1000) : 0;
      const known = answered + timeouts + dropped + connection;
      const errorTotal = errorsSoFar();
      const intendedPerSecond = new PerSecond();
      for (let i = 0; i < n; i++) intendedPerSecond.add(Math.floor(schedule[i] / 1000));
      return {
        runId,
        target,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date(startedAt.getTime() + end).toISOString(),
        plannedDurationMs: plannedMs,
        durationMs: Math.round(durationMs),
        aborted,
        maxConcurrency,
        timeoutMs,
        requests: { intended: n, sent, answered, ok, cancelled: aborted ? inFlight : 0, unsent: n - next },
        errors: {
          total: errorTotal,
          rate: known > 0 ? round(errorTotal / known, 6) : 0,
          byStatus,
          timeouts,
          dropped,
          connection,
          connectionByCode,
        },
        latencyMs: summarise(latency),
        serviceTimeMs: summarise(service),
        throughput: durationMs > 0 ? round(answered / (durationMs / 1000), 2) : 0,
        targetRate: round(targetRate, 3),
        achievedRate: round(achievedRate, 3),
        achievedRatePercent: targetRate > 0 ? round((achievedRate / targetRate) * 100, 2) : 0,
        windows: windows.map((w) => ({
          ...w,
          intended: intendedPerSecond.at(w.second),
          sent: sentPerSecond.at(w.second),
          partial: (w.second + 1) * 1000 > windowEndMs,
        })),
      };
    };

    function finish(): void {
      if (finished) return;
      let out: LoadResult;
      try {
        out = result();
      } catch (err) {
        fail(err);
        return;
      }
      finished = true;
      cleanup();
      // Every outcome is counted: what undici still holds (requests in flight at an abort, or
      // timed out and not yet torn down) is cut at once, and the run does not wait for it.
      void pool.destroy().catch(() => undefined);
      resolve(out);
    }

    function fail(err: unknown): void {
      if (finished) return;
      finished = true;
      cleanup();
      void pool.destroy().catch(() => undefined);
      reject(err);
    }

    function onAbort(): void {
      if (finished) return;
      aborted = true;
      finish();
    }

    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.onProgress) {
      const report = opts.onProgress;
      progressTimer = setInterval(() => report(progress()), opts.progressEveryMs ?? 1000);
      progressTimer.unref();
    }
    try {
      pump();
    } catch (err) {
      fail(err);
    }
  });
}

/** How many of the ascending `times` are < limit. */
function countBelow(times: Float64Array, limit: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

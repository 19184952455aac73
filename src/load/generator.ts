// The load generator: an open model on a clock. Requests go out at the profile's intended times
// whatever the server does; a slow server makes later requests wait for a free slot (the throttle),
// and their latency still counts from when they were meant to go out. That is the correction for
// coordinated omission: a closed-loop client that waits for each answer before sending the next
// quietly sends less when the server stalls, and its percentiles never see the stall.
//
// Built on undici's Pool with raw dispatch handlers (no body streams, no promise per request) so
// the generator itself is not what limits throughput. One timer drives sending, one timer drives
// timeouts: requests are dispatched one after another, so their deadlines (send time + timeoutMs)
// are ordered too and a FIFO of in-flight requests is enough to find the next one to expire.
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
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: digits, autoResize: true });
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

interface InFlight {
  index: number;
  intendedMs: number;
  sentMs: number;
  deadlineMs: number;
  status: number;
  controller: Dispatcher.DispatchController | null;
  /** Outcome counted (answered, timed out, failed or cancelled): later callbacks are ignored. */
  settled: boolean;
  timedOut: boolean;
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
      // Our own deadline (from the intended time) cuts requests short; these only back it up.
      headersTimeout: timeoutMs + 1000,
      bodyTimeout: timeoutMs + 1000,
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
    const fifo: InFlight[] = [];
    let fifoHead = 0;

    let finished = false;
    let aborted = false;
    let sendTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
    let deadlineTimer: NodeJS.Timeout | undefined;
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

    const send = (index: number, intendedMs: number, at: number): void => {
      const req: InFlight = {
        index,
        intendedMs,
        sentMs: at,
        deadlineMs: at + timeoutMs,
        status: 0,
        controller: null,
        settled: false,
        timedOut: false,
      };
      const body = encodeBody(opts.bodies(index));
      inFlight++;
      sent++;
      lastSendMs = at;
      sentPerSecond.add(Math.floor(at / 1000));
      fifo.push(req);
      armDeadline();
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(controller) {
          req.controller = controller;
          if (req.settled) controller.abort(new RequestTimeout());
        },
        onResponseStart(_controller, statusCode) {
          req.status = statusCode;
        },
        onResponseData() {
          // The body is read and dropped: only the status and the timing matter here.
        },
        onResponseEnd() {
          if (!req.settled && !finished) onAnswer(req);
        },
        onResponseError(_controller, err) {
          if (!req.settled && !finished) onFailure(req, err);
        },
      };
      pool.dispatch({ path: requestPath, method: 'POST', headers, body }, handler);
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

    const armDeadline = (): void => {
      if (deadlineTimer !== undefined || finished) return;
      while (fifoHead < fifo.length && fifo[fifoHead].settled) fifoHead++;
      if (fifoHead >= fifo.length) {
        fifo.length = 0;
        fifoHead = 0;
        return;
      }
      const wait = Math.max(0, fifo[fifoHead].deadlineMs - now());
      deadlineTimer = setTimeout(expire, Math.ceil(wait));
    };

    const expire = (): void => {
      deadlineTimer = undefined;
      if (finished) return;
      const at = now();
      while (fifoHead < fifo.length) {
        const req = fifo[fifoHead];
        if (!req.settled) {
          if (req.deadlineMs > at) break;
          req.timedOut = true;
          // Count it now and free its slot; undici finishes tearing the request down on its own.
          onFailure(req, new RequestTimeout());
          req.controller?.abort(new RequestTimeout());
          if (finished) return;
        }
        fifoHead++;
      }
      if (fifoHead > 4096 && fifoHead * 2 > fifo.length) {
        fifo.splice(0, fifoHead);
        fifoHead = 0;
      }
      armDeadline();
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
      // Aborted: in-flight requests are cut at once; otherwise nothing is left in flight.
      const closing = aborted ? pool.destroy() : pool.close();
      void closing.catch(() => undefined).then(() => resolve(out));
      if (aborted) resolve(out); // do not wait for sockets to be torn down
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

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
import { type Context, context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
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
  /**
   * Share (0..1) of requests sent with a W3C `traceparent`, each a client span in the caller's
   * trace (the active span when runLoad is called), evenly spread over the run. Only when a
   * tracer provider is installed (tracing on); default 0.
   */
  traceSampleRate?: number;
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
  /** The client span of a sampled request, until its outcome is known. */
  span: Span | undefined;
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

/** Ends a sampled request's span: the answer's status, or why it failed (a timeout, a refused connection). */
function endRequestSpan(req: InFlight, err: Error | null): void {
  const span = req.span!;
  req.span = undefined;
  if (err === null && req.status > 0) span.setAttribute('http.response.status_code', req.status);
  if (err !== null || req.status >= 500 || req.status === 0) {
    const why = req.timedOut || err instanceof RequestTimeout ? 'timeout' : err ? errorCode(err) : `HTTP ${req.status}`;
    span.setStatus({ code: SpanStatusCode.ERROR, message: why });
  }
  span.end();
}

/** Sends the profile's load to `baseUrl + path` and measures it. Never rejects for a failing server; see LoadResult. */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  return new LoadRun(opts).start();
}

/** What the run has counted so far, over the whole run. */
class Tally {
  sent = 0;
  answered = 0;
  ok = 0;
  timeouts = 0;
  dropped = 0;
  connection = 0;
  readonly byStatus: Record<string, number> = {};
  readonly connectionByCode: Record<string, number> = {};
  readonly latency = histogram(3);
  readonly service = histogram(3);

  /** Requests whose outcome is known (answered, timed out, dropped or failed to connect). */
  get known(): number {
    return this.answered + this.timeouts + this.dropped + this.connection;
  }

  get errors(): number {
    return this.answered - this.ok + this.timeouts + this.dropped + this.connection;
  }
}

type ClosedWindow = Omit<LoadWindow, 'intended' | 'sent' | 'partial'>;

/** The one-second windows by completion time: the open one, and those already closed. */
class Windows {
  readonly closed: ClosedWindow[] = [];
  private readonly hist = histogram(2);
  private second = 0;
  private answered = 0;
  private done = 0;
  private errors = 0;

  /** An outcome became known at `atMs`: closes the windows before its second and counts it in its own. */
  outcome(atMs: number): void {
    this.closeBefore(Math.floor(atMs / 1000));
    this.done++;
  }

  /** The outcome just counted was an answer after `latencyUs`. */
  answer(latencyUs: number): void {
    this.hist.recordValue(latencyUs);
    this.answered++;
  }

  /** The outcome just counted was an error. */
  error(): void {
    this.errors++;
  }

  /** Closes every window that ended before `second`. */
  closeBefore(second: number): void {
    while (this.second < second) {
      const s = this.hist.totalCount > 0 ? summarise(this.hist) : null;
      this.closed.push({
        second: this.second,
        answered: this.answered,
        done: this.done,
        errors: this.errors,
        p50: s?.p50 ?? null,
        p90: s?.p90 ?? null,
        p99: s?.p99 ?? null,
        p999: s?.p999 ?? null,
        max: s?.max ?? null,
      });
      this.hist.reset();
      this.answered = 0;
      this.done = 0;
      this.errors = 0;
      this.second++;
    }
  }
}

/**
 * One run of runLoad: the schedule, the pool, the requests in flight, the timers and the tallies.
 * start() returns the promise the run settles; everything after that is driven by timers and
 * undici's callbacks.
 */
class LoadRun {
  private readonly requestPath: string;
  private readonly target: string;
  private readonly schedule: Float64Array;
  private readonly plannedMs: number;
  private readonly maxConcurrency: number;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly pool: Pool;
  private readonly traceRate: number;
  /** The caller's trace context: sampled requests are spans under it. */
  private readonly traceParent: Context = context.active();

  private readonly tally = new Tally();
  private readonly windows = new Windows();
  private readonly sentPerSecond = new PerSecond();
  /** Index in the schedule of the next request to send. */
  private next = 0;
  // Requests in flight, unordered; each knows its index, so one leaves in O(1) when it settles.
  private readonly active: InFlight[] = [];
  private lastSendMs = 0;
  private lastOutcomeMs = 0;

  private finished = false;
  private aborted = false;
  private sendTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** Set while expire() counts timeouts; it arms the next deadline itself afterwards. */
  private expiring = false;
  private progressTimer: NodeJS.Timeout | undefined;

  private startedAt = new Date();
  private t0 = 0;
  private resolve: (result: LoadResult) => void = () => undefined;
  private reject: (err: unknown) => void = () => undefined;

  constructor(private readonly opts: LoadOptions) {
    const { profile } = opts;
    const base = new URL(opts.baseUrl);
    this.requestPath = `${base.pathname.replace(/\/+$/, '')}${opts.path ?? '/predict'}`;
    this.target = `${base.origin}${this.requestPath}`;
    this.schedule = intendedSchedule(profile);
    this.plannedMs = profileDurationMs(profile);
    this.maxConcurrency = profile.maxConcurrency;
    this.timeoutMs = profile.timeoutMs;
    this.headers = { 'content-type': 'application/json', [RUN_ID_HEADER]: opts.runId };
    this.traceRate = Math.min(1, Math.max(0, opts.traceSampleRate ?? 0));
    this.pool = new Pool(base.origin, {
      connections: this.maxConcurrency,
      pipelining: 1,
      connect: { timeout: Math.min(this.timeoutMs, 10_000) },
      // Our own deadline cuts requests short; undici's per-request timers would only add work.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  start(): Promise<LoadResult> {
    return new Promise<LoadResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.startedAt = new Date();
      this.t0 = performance.now();
      const { signal, onProgress } = this.opts;
      if (signal?.aborted) {
        this.onAbort();
        return;
      }
      signal?.addEventListener('abort', this.onAbort, { once: true });
      if (onProgress) {
        this.progressTimer = setInterval(() => onProgress(this.progress()), this.opts.progressEveryMs ?? 1000);
        this.progressTimer.unref();
      }
      this.pump();
    });
  }

  private now(): number {
    return performance.now() - this.t0;
  }

  /** Counts an outcome at `at`; `req` (null for a dropped request) leaves the requests in flight. */
  private outcome(req: InFlight | null, at: number): void {
    if (req) {
      req.settled = true;
      const last = this.active.pop()!;
      if (last !== req) {
        this.active[req.slot] = last;
        last.slot = req.slot;
      }
    }
    this.lastOutcomeMs = at;
    this.windows.outcome(at);
  }

  private onAnswer(req: InFlight): void {
    const at = this.now();
    this.outcome(req, at);
    const tally = this.tally;
    tally.answered++;
    const us = Math.max(1, Math.round((at - req.intendedMs) * US_PER_MS));
    tally.latency.recordValue(us);
    tally.service.recordValue(Math.max(1, Math.round((at - req.sentMs) * US_PER_MS)));
    this.windows.answer(us);
    if (req.status >= 200 && req.status < 300) tally.ok++;
    else {
      tally.byStatus[req.status] = (tally.byStatus[req.status] ?? 0) + 1;
      this.windows.error();
    }
    this.pump();
  }

  private onFailure(req: InFlight, err: Error): void {
    this.outcome(req, this.now());
    this.windows.error();
    const tally = this.tally;
    if (req.timedOut || err instanceof RequestTimeout) tally.timeouts++;
    else {
      tally.connection++;
      const code = errorCode(err);
      tally.connectionByCode[code] = (tally.connectionByCode[code] ?? 0) + 1;
    }
    this.pump();
  }

  /** Every request's dispatch handler reports here, once it is answered or has failed. */
  private readonly settle = (req: InFlight, err: Error | null): void => {
    if (req.span) endRequestSpan(req, err);
    if (req.settled || this.finished) return;
    if (err === null) this.onAnswer(req);
    else this.onFailure(req, err);
  };

  private send(index: number, intendedMs: number, at: number): void {
    const body = encodeBody(this.opts.bodies(index));
    const req = new InFlight(intendedMs, at, at + this.timeoutMs, this.settle);
    this.tally.sent++;
    this.lastSendMs = at;
    this.sentPerSecond.add(Math.floor(at / 1000));
    req.slot = this.active.length;
    this.active.push(req);
    // Later sends have later deadlines: a pending timer is already early enough.
    if (this.deadlineTimer === undefined && !this.expiring) this.armDeadline(req.deadlineMs);
    const headers = this.sampled(index) ? this.traced(req) : this.headers;
    this.pool.dispatch({ path: this.requestPath, method: 'POST', headers, body }, req as Dispatcher.DispatchHandler);
  }

  /** Whether request `index` carries a traceparent: rate × index crosses an integer (1 in 1/rate, evenly). */
  private sampled(index: number): boolean {
    return this.traceRate > 0 && Math.floor((index + 1) * this.traceRate) > Math.floor(index * this.traceRate);
  }

  /** The headers of a sampled request: its client span's W3C traceparent added (none when tracing is off). */
  private traced(req: InFlight): Record<string, string> {
    const span = trace.getTracer('strata-load').startSpan(
      `POST ${this.requestPath}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'http.request.method': 'POST', 'url.full': this.target, 'strata.run_id': this.opts.runId },
      },
      this.traceParent,
    );
    if (!span.isRecording()) return this.headers;
    req.span = span;
    const headers = { ...this.headers };
    propagation.inject(trace.setSpan(this.traceParent, span), headers);
    return headers;
  }

  /** Sends every request that is due, as far as the throttle allows; then sleeps until the next one. */
  private pump(): void {
    try {
      this.sendDue();
    } catch (err) {
      this.fail(err); // bodies(i) threw: a bug or bad data, not a server failure
    }
  }

  private sendDue(): void {
    if (this.finished) return;
    const { schedule, active, maxConcurrency } = this;
    const n = schedule.length;
    const at = this.now();
    while (this.next < n && active.length < maxConcurrency) {
      const due = schedule[this.next];
      if (due > at) break;
      if (at - due >= this.timeoutMs) {
        // Held by the throttle past its whole timeout: a timeout the server never saw.
        this.outcome(null, at);
        this.tally.dropped++;
        this.windows.error();
        this.next++;
        continue;
      }
      this.send(this.next++, due, at);
    }
    if (this.next >= n) {
      if (active.length === 0) this.finish();
      return;
    }
    // Saturated: the next answer (or timeout) calls pump again. Otherwise wake up when due.
    if (active.length < maxConcurrency && this.sendTimer === undefined) {
      const wait = schedule[this.next] - at;
      this.sendTimer = wait >= 1 ? setTimeout(this.wake, Math.floor(wait)) : setImmediate(this.wake);
    }
  }

  private readonly wake = (): void => {
    this.sendTimer = undefined;
    this.pump();
  };

  private armDeadline(deadlineMs: number): void {
    if (this.finished) return;
    this.deadlineTimer = setTimeout(this.expire, Math.max(1, Math.ceil(deadlineMs - this.now())));
  }

  private readonly expire = (): void => {
    this.deadlineTimer = undefined;
    if (this.finished) return;
    const at = this.now();
    // Collect first, then count: counting frees slots and sends more requests.
    const expired = this.active.filter((req) => req.deadlineMs <= at);
    this.expiring = true;
    try {
      for (const req of expired) {
        if (this.finished) return;
        if (req.settled) continue;
        req.timedOut = true;
        // Count it now and free its slot; undici finishes tearing the request down on its own.
        this.onFailure(req, new RequestTimeout());
        req.cancel();
      }
    } finally {
      this.expiring = false;
    }
    if (this.finished || this.active.length === 0) return;
    let earliest = Infinity;
    for (const req of this.active) earliest = Math.min(earliest, req.deadlineMs);
    this.armDeadline(earliest);
  };

  private progress(): LoadProgress {
    return {
      runId: this.opts.runId,
      elapsedMs: Math.round(this.now()),
      intended: this.schedule.length,
      sent: this.tally.sent,
      done: this.tally.known,
      errors: this.tally.errors,
      inFlight: this.active.length,
    };
  }

  private cleanup(): void {
    if (this.sendTimer !== undefined) {
      clearTimeout(this.sendTimer as NodeJS.Timeout);
      clearImmediate(this.sendTimer as NodeJS.Immediate);
    }
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    if (this.progressTimer !== undefined) clearInterval(this.progressTimer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
  }

  private result(): LoadResult {
    const { schedule, plannedMs, tally, aborted } = this;
    const n = schedule.length;
    const end = this.now();
    const durationMs = aborted ? end : Math.max(this.lastOutcomeMs, this.lastSendMs);
    this.windows.closeBefore(Math.floor(durationMs / 1000) + 1);
    // Up to the abort, the profile asked for the requests intended before it.
    const windowEndMs = aborted ? end : plannedMs;
    const intendedDue = aborted ? countBelow(schedule, end) : n;
    const targetRate = windowEndMs > 0 ? intendedDue / (windowEndMs / 1000) : 0;
    const sendWindowMs = Math.max(windowEndMs, this.lastSendMs);
    const achievedRate = sendWindowMs > 0 ? tally.sent / (sendWindowMs / 1000) : 0;
    const known = tally.known;
    const errorTotal = tally.errors;
    const intendedPerSecond = new PerSecond();
    for (let i = 0; i < n; i++) intendedPerSecond.add(Math.floor(schedule[i] / 1000));
    return {
      runId: this.opts.runId,
      target: this.target,
      startedAt: this.startedAt.toISOString(),
      finishedAt: new Date(this.startedAt.getTime() + end).toISOString(),
      plannedDurationMs: plannedMs,
      durationMs: Math.round(durationMs),
      aborted,
      maxConcurrency: this.maxConcurrency,
      timeoutMs: this.timeoutMs,
      requests: {
        intended: n,
        sent: tally.sent,
        answered: tally.answered,
        ok: tally.ok,
        cancelled: aborted ? this.active.length : 0,
        unsent: n - this.next,
      },
      errors: {
        total: errorTotal,
        rate: known > 0 ? round(errorTotal / known, 6) : 0,
        byStatus: tally.byStatus,
        timeouts: tally.timeouts,
        dropped: tally.dropped,
        connection: tally.connection,
        connectionByCode: tally.connectionByCode,
      },
      latencyMs: summarise(tally.latency),
      serviceTimeMs: summarise(tally.service),
      throughput: durationMs > 0 ? round(tally.answered / (durationMs / 1000), 2) : 0,
      targetRate: round(targetRate, 3),
      achievedRate: round(achievedRate, 3),
      achievedRatePercent: targetRate > 0 ? round((achievedRate / targetRate) * 100, 2) : 0,
      windows: this.windows.closed.map((w) => ({
        ...w,
        intended: intendedPerSecond.at(w.second),
        sent: this.sentPerSecond.at(w.second),
        partial: (w.second + 1) * 1000 > windowEndMs,
      })),
    };
  }

  private finish(): void {
    if (this.finished) return;
    let out: LoadResult;
    try {
      out = this.result();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.finished = true;
    this.cleanup();
    // Every outcome is counted: what undici still holds (requests in flight at an abort, or
    // timed out and not yet torn down) is cut at once, and the run does not wait for it.
    void this.pool.destroy().catch(() => undefined);
    this.resolve(out);
  }

  private fail(err: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.cleanup();
    void this.pool.destroy().catch(() => undefined);
    this.reject(err);
  }

  private readonly onAbort = (): void => {
    if (this.finished) return;
    this.aborted = true;
    this.finish();
  };
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

// HTTP client for a running candidate's POST /predict, shared by the quality and latency gates.
// A failure of the candidate (unreachable, timeout, non-200, malformed answer) is an outcome to
// report, not an exception; only the caller's cancellation throws.

import { Agent, request } from 'undici';

export type PredictOutcome = { ok: true; scores: number[] } | { ok: false; reason: string };

export class PredictClient {
  private readonly agent: Agent;
  readonly endpoint: string;

  constructor(
    readonly baseUrl: string,
    private readonly opts: { signal: AbortSignal; connections?: number },
  ) {
    this.endpoint = `${baseUrl.replace(/\/+$/, '')}/predict`;
    this.agent = new Agent({ connections: opts.connections ?? 1 });
  }

  /**
   * Scores `records`. Resolves with the scores, or with the reason the candidate could not
   * answer; rejects only when the caller's signal is aborted.
   */
  async predict(records: unknown[], timeoutMs: number): Promise<PredictOutcome> {
    const cancel = this.opts.signal;
    cancel.throwIfAborted();
    // One controller per request, tied to the caller's signal and a timer that are both released
    // afterwards (AbortSignal.any would keep a listener per request on a long-lived signal).
    const controller = new AbortController();
    let timedOut = false;
    const onCancel = () => controller.abort(cancel.reason);
    cancel.addEventListener('abort', onCancel, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      const res = await request(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ records }),
        signal: controller.signal,
        dispatcher: this.agent,
      });
      const text = await res.body.text();
      // The body is not shown: a candidate's error may echo the records it was sent (data), and
      // this reason ends up in a gate's detail, in the workflow history. The candidate's log has it.
      if (res.statusCode !== 200) {
        return {
          ok: false,
          reason: `POST ${this.endpoint} answered ${res.statusCode} (${text.length > 0 ? 'body not shown' : 'empty body'})`,
        };
      }
      return parseScores(text, records.length, this.endpoint);
    } catch (err) {
      if (cancel.aborted) throw cancel.reason ?? err;
      if (timedOut) return { ok: false, reason: `POST ${this.endpoint} timed out after ${timeoutMs} ms` };
      return { ok: false, reason: `candidate at ${this.baseUrl} is unreachable: ${describeNetworkError(err)}` };
    } finally {
      clearTimeout(timer);
      cancel.removeEventListener('abort', onCancel);
    }
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => this.agent.destroy());
  }
}

function parseScores(text: string, expected: number, endpoint: string): PredictOutcome {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, reason: `POST ${endpoint} answered 200 with a body that is not JSON` };
  }
  const scores = (body as { scores?: unknown } | null)?.scores;
  if (!Array.isArray(scores)) return { ok: false, reason: `POST ${endpoint} answered without a "scores" array` };
  if (scores.length !== expected) {
    return { ok: false, reason: `POST ${endpoint} returned ${scores.length} scores for ${expected} records` };
  }
  const bad = scores.findIndex((s) => typeof s !== 'number' || !Number.isFinite(s));
  if (bad >= 0)
    return {
      ok: false,
      reason: `POST ${endpoint} returned a non-numeric score at index ${bad} (${describeKind(scores[bad])})`,
    };
  return { ok: true, scores: scores as number[] };
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  const message = e?.message ?? String(err);
  return code && !message.includes(code) ? `${code} (${message})` : message;
}

/** The kind of a JSON value, never the value: `a string`, `null`, `an object`. */
function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return 'a non-finite number';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

// One HTTP delivery of one notification to one webhook (undici). At-least-once: the caller (the
// notify activity) retries; every attempt carries the same Idempotency-Key, and a signed one a
// fresh timestamp and signature.

import { request } from 'undici';
import type { ApprovalNotice } from '../domain/approval-reminders';
import { type NotificationsConfig, readSecret, type WebhookConfig, webhookUrl } from './config';
import { signedBody, slackText } from './message';
import { EVENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './signature';

export type DeliveryOutcome =
  | { ok: true; webhook: string; status: number }
  /** `permanent`: retrying cannot help (a 4xx other than 408/429, a missing secret). */
  | { ok: false; webhook: string; reason: string; permanent: boolean };

/** Posts `notice` to `hook`. Never throws: what went wrong is in the outcome (no URL, no secret in it). */
export async function deliver(
  hook: WebhookConfig,
  notice: ApprovalNotice,
  config: NotificationsConfig,
  opts: { now?: () => Date; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {},
): Promise<DeliveryOutcome> {
  const now = opts.now ?? (() => new Date());
  const env = opts.env ?? process.env;
  let url: string;
  let body: string;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'strata-notify/1',
    [IDEMPOTENCY_HEADER]: notice.idempotencyKey,
    [EVENT_HEADER]: notice.event,
  };
  try {
    url = webhookUrl(hook, config.file, env);
    const link = config.link ? { link: config.link } : {};
    if (hook.format === 'slack') body = JSON.stringify({ text: slackText(notice, link) });
    else {
      const at = now();
      body = signedBody(notice, { ...link, sentAt: at.toISOString() });
      const timestamp = String(Math.floor(at.getTime() / 1000));
      headers[TIMESTAMP_HEADER] = timestamp;
      headers[SIGNATURE_HEADER] = signWebhook(readSecret(hook.secret!, config.file, env), timestamp, body);
    }
  } catch (err) {
    return { ok: false, webhook: hook.name, reason: (err as Error).message, permanent: true };
  }
  try {
    const res = await request(url, {
      method: 'POST',
      headers,
      body,
      headersTimeout: hook.timeoutSeconds * 1000,
      bodyTimeout: hook.timeoutSeconds * 1000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, webhook: hook.name, status: res.statusCode };
    const retryable = res.statusCode >= 500 || res.statusCode === 408 || res.statusCode === 429;
    return { ok: false, webhook: hook.name, reason: `HTTP ${res.statusCode}`, permanent: !retryable };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, webhook: hook.name, reason: e.code ?? e.message, permanent: false };
  }
}

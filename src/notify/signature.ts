// The signature of a `signed` webhook: HMAC-SHA256 over "<timestamp>.<body>", so that a receiver
// knows the notice came from Strata (it holds the shared secret) and was not replayed later (the
// timestamp is signed and checked against the receiver's clock). docs/security.md shows a receiver.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-strata-timestamp';
export const SIGNATURE_HEADER = 'x-strata-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const EVENT_HEADER = 'x-strata-event';
/** How far a receiver should let the timestamp be from its own clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** `sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>`. */
export function signWebhook(secret: string, timestamp: number | string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * What a receiver does with a signed notice: recompute the signature over the raw body exactly as
 * received, compare it in constant time, and refuse a timestamp further than `toleranceSeconds`
 * from `nowSeconds` (a replayed request). Deduplicating on Idempotency-Key is the receiver's part.
 */
export function verifyWebhook(args: {
  secret: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  nowSeconds: number;
  toleranceSeconds?: number;
}): SignatureCheck {
  const tolerance = args.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!args.timestamp || !/^\d+$/.test(args.timestamp)) return { ok: false, reason: 'missing or malformed timestamp' };
  if (!args.signature || !/^sha256=[0-9a-f]{64}$/.test(args.signature))
    return { ok: false, reason: 'missing or malformed signature' };
  const age = Math.abs(args.nowSeconds - Number(args.timestamp));
  if (age > tolerance) return { ok: false, reason: `timestamp ${age} s from now (tolerance ${tolerance} s)` };
  const expected = Buffer.from(signWebhook(args.secret, args.timestamp, args.body));
  const given = Buffer.from(args.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}

// Option values people type, parsed: each failure is a usage error (exit 2) naming the flag.

import { UsageError } from './errors';

export function parsePort(flag: string, raw: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`${flag}: expected a port 1-65535 (got "${raw}")`);
  }
  return port;
}

export function integerOption(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name}: expected an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return n;
}

export function numberOption(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name}: expected a number between ${min} and ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

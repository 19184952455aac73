// Helpers every benchmark shares: flags, medians with their spread, aligned tables.

/** `--name N` from the arguments, a positive integer, or the fallback. */
export function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} needs a positive integer`);
  return n;
}

/** Every figure a benchmark reports is a median of at least this many runs, shown with its min and max. */
export const MIN_ROUNDS = 5;

/** `--rounds N` (default `fallback`), at least MIN_ROUNDS. */
export function roundsFlag(args: string[], fallback: number): number {
  const n = flag(args, 'rounds', fallback);
  if (n < MIN_ROUNDS) throw new Error(`--rounds must be at least ${MIN_ROUNDS}: figures are medians with min and max`);
  return n;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function spread(xs: number[]): Spread {
  if (xs.length === 0) throw new Error('no runs to summarize');
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs.length };
}

/** The column headers that go with spreadCells. */
export const SPREAD_HEADERS = ['median', 'min', 'max'] as const;

/** Median, min and max of `xs` as table cells. */
export function spreadCells(xs: number[], format: (n: number) => string): string[] {
  const s = spread(xs);
  return [format(s.median), format(s.min), format(s.max)];
}

/** `12.3 (min 10.1, max 15.0, 7 runs)`. */
export function spreadText(xs: number[], format: (n: number) => string): string {
  const s = spread(xs);
  return `${format(s.median)} (min ${format(s.min)}, max ${format(s.max)}, ${s.runs} runs)`;
}

/** Per-round ratios a[i] / b[i]: rounds that ran back to back cancel a shared machine's slow drifts. */
export function ratios(a: number[], b: number[]): number[] {
  if (a.length !== b.length) throw new Error('ratios need as many rounds on each side');
  return a.map((x, i) => x / b[i]);
}

export const times = (x: number): string => `${x.toFixed(2)}×`;

/** First column left-aligned, the others right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
    .join('\n');
}

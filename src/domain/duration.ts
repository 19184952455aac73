// Durations in config are short strings ("90s", "30m", "72h", "7d", "1h30m"). Parsed by hand
// because the format is tiny and this module must stay free of dependencies (workflow sandbox).

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

/** Milliseconds in a duration string, or undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s.length === 0) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== at) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
  }
  return total;
}

export const DURATION_HINT = 'a duration such as "90s", "30m", "72h", "7d" or "1h30m"';

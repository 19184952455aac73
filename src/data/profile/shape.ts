// Formats of identifier-like values, recorded instead of the values: `txn_000123` becomes
// `txn_\d{6}`, `0f8e…-…` becomes `[0-9a-f]{8}-[0-9a-f]{4}-…`. A value is split at every character
// that is not an ASCII letter or digit (the separators, kept literally) into chunks; values with the
// same separators share a shape. Within a shape a chunk is published literally only when it is the
// same in every value of the shape and the shape has at least k values — so `txn` survives, while a
// shape (and so any literal in it) seen fewer than k times is not published at all.

import type { FormatChunk } from './schema';

const MAX_SHAPES = 256;

const DIGIT = 1;
const LOWER = 2;
const UPPER = 4;
/** A letter outside a–f / A–F, which rules out hexadecimal. */
const NON_HEX = 8;

/** Letters-then-digits or digits-then-letters chunks (`AB1234`, `12ab`) keep their two parts. */
type Runs = 'D' | 'L' | 'LD' | 'DL' | 'X';

interface ChunkStats {
  flags: number;
  minLen: number;
  maxLen: number;
  /** The chunk's text while it has been the same in every value, else null. */
  literal: string | null;
  runs: Runs | 'mixed';
  /** For LD / DL chunks: the letter part's text while constant, and both parts' length ranges. */
  letters: string | null;
  letterMin: number;
  letterMax: number;
  digitMin: number;
  digitMax: number;
}

interface ShapeStats {
  separators: string[];
  count: number;
  chunks: ChunkStats[];
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}
function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** Splits `value` into chunks (alphanumeric runs) and the separators between them. */
function split(value: string): { chunks: string[]; separators: string[] } {
  const chunks: string[] = [];
  const separators: string[] = [];
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    const c = i < value.length ? value.charCodeAt(i) : -1;
    if (c >= 0 && (isDigit(c) || isLower(c) || isUpper(c))) continue;
    chunks.push(value.slice(start, i));
    if (c >= 0) separators.push(value[i]);
    start = i + 1;
  }
  return { chunks, separators };
}

function runsOf(chunk: string): { runs: Runs; letterLen: number; digitLen: number } {
  if (chunk.length === 0) return { runs: 'D', letterLen: 0, digitLen: 0 };
  let boundaries = 0;
  const firstIsDigit = isDigit(chunk.charCodeAt(0));
  let prev = firstIsDigit;
  let firstRunLen = chunk.length;
  for (let i = 1; i < chunk.length; i++) {
    const d = isDigit(chunk.charCodeAt(i));
    if (d !== prev) {
      if (boundaries === 0) firstRunLen = i;
      boundaries++;
      prev = d;
    }
  }
  if (boundaries === 0)
    return firstIsDigit
      ? { runs: 'D', letterLen: 0, digitLen: chunk.length }
      : { runs: 'L', letterLen: chunk.length, digitLen: 0 };
  if (boundaries === 1) {
    return firstIsDigit
      ? { runs: 'DL', letterLen: chunk.length - firstRunLen, digitLen: firstRunLen }
      : { runs: 'LD', letterLen: firstRunLen, digitLen: chunk.length - firstRunLen };
  }
  return { runs: 'X', letterLen: 0, digitLen: 0 };
}

function flagsOf(chunk: string): number {
  let flags = 0;
  for (let i = 0; i < chunk.length; i++) {
    const c = chunk.charCodeAt(i);
    if (isDigit(c)) flags |= DIGIT;
    else if (isLower(c)) flags |= c > 102 ? LOWER | NON_HEX : LOWER;
    else flags |= c > 70 ? UPPER | NON_HEX : UPPER;
  }
  return flags;
}

export class ShapeAccumulator {
  private readonly shapes = new Map<string, ShapeStats>();
  /** Values whose shape arrived after MAX_SHAPES others: too irregular to describe. */
  irregular = 0;
  total = 0;

  add(value: string): void {
    this.total++;
    const { chunks, separators } = split(value);
    const key = separators.join('\u0000');
    let shape = this.shapes.get(key);
    if (!shape) {
      if (this.shapes.size >= MAX_SHAPES) {
        this.irregular++;
        return;
      }
      shape = { separators, count: 0, chunks: [] };
      for (const chunk of chunks) {
        const r = runsOf(chunk);
        shape.chunks.push({
          flags: 0,
          minLen: chunk.length,
          maxLen: chunk.length,
          literal: chunk,
          runs: r.runs,
          letters:
            r.runs === 'LD' || r.runs === 'DL'
              ? chunk.slice(r.runs === 'LD' ? 0 : r.digitLen, r.runs === 'LD' ? r.letterLen : undefined)
              : null,
          letterMin: r.letterLen,
          letterMax: r.letterLen,
          digitMin: r.digitLen,
          digitMax: r.digitLen,
        });
      }
      this.shapes.set(key, shape);
    }
    shape.count++;
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i];
      const stats = shape.chunks[i];
      stats.flags |= flagsOf(chunk);
      if (chunk.length < stats.minLen) stats.minLen = chunk.length;
      if (chunk.length > stats.maxLen) stats.maxLen = chunk.length;
      if (stats.literal !== null && stats.literal !== chunk) stats.literal = null;
      if (stats.runs === 'mixed') continue;
      const r = runsOf(chunk);
      if (r.runs !== stats.runs) {
        stats.runs = 'mixed';
        continue;
      }
      if (r.runs === 'LD' || r.runs === 'DL') {
        const letters = r.runs === 'LD' ? chunk.slice(0, r.letterLen) : chunk.slice(r.digitLen);
        if (stats.letters !== null && stats.letters !== letters) stats.letters = null;
        stats.letterMin = Math.min(stats.letterMin, r.letterLen);
        stats.letterMax = Math.max(stats.letterMax, r.letterLen);
        stats.digitMin = Math.min(stats.digitMin, r.digitLen);
        stats.digitMax = Math.max(stats.digitMax, r.digitLen);
      }
    }
  }

  /**
   * Shapes with at least k values, most common first (at most `limit`), as chunk lists and
   * regex-like patterns; `otherShare` is the share of values in rarer (unpublished) shapes.
   */
  formats(
    k: number,
    limit = 20,
  ): { formats: Array<{ pattern: string; share: number; chunks: FormatChunk[] }>; otherShare: number } {
    if (this.total === 0) return { formats: [], otherShare: 0 };
    const kept = [...this.shapes.values()]
      .filter((s) => s.count >= k)
      .sort((a, b) => b.count - a.count)
      .slice(0, limit);
    const covered = kept.reduce((sum, s) => sum + s.count, 0);
    const formats = kept.map((shape) => {
      const chunks: FormatChunk[] = [];
      shape.chunks.forEach((stats, i) => {
        chunks.push(...describeChunk(stats));
        if (i < shape.separators.length) chunks.push({ kind: 'literal', text: shape.separators[i] });
      });
      const merged = mergeLiterals(chunks);
      return { pattern: patternOf(merged), share: round6(shape.count / this.total), chunks: merged };
    });
    return { formats, otherShare: round6(1 - covered / this.total) };
  }
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

function letterCharset(flags: number): 'lower' | 'upper' | 'alpha' {
  if ((flags & LOWER) !== 0 && (flags & UPPER) !== 0) return 'alpha';
  return (flags & UPPER) !== 0 ? 'upper' : 'lower';
}

function describeChunk(s: ChunkStats): FormatChunk[] {
  if (s.maxLen === 0) return [];
  if (s.literal !== null) return [{ kind: 'literal', text: s.literal }];
  const cls = (charset: Extract<FormatChunk, { kind: 'class' }>['charset'], min: number, max: number): FormatChunk => ({
    kind: 'class',
    charset,
    min,
    max,
  });
  switch (s.runs) {
    case 'D':
      return [cls('digit', s.minLen, s.maxLen)];
    case 'L':
      return [cls(letterCharset(s.flags), s.minLen, s.maxLen)];
    case 'LD':
    case 'DL': {
      const letters: FormatChunk =
        s.letters !== null
          ? { kind: 'literal', text: s.letters }
          : cls(letterCharset(s.flags), s.letterMin, s.letterMax);
      const digits = cls('digit', s.digitMin, s.digitMax);
      return s.runs === 'LD' ? [letters, digits] : [digits, letters];
    }
    default: {
      const hasLower = (s.flags & LOWER) !== 0;
      const hasUpper = (s.flags & UPPER) !== 0;
      const hex = (s.flags & NON_HEX) === 0;
      let charset: Extract<FormatChunk, { kind: 'class' }>['charset'];
      if (hasLower && hasUpper) charset = 'alnum';
      else if (hex) charset = hasUpper ? 'HEX' : 'hex';
      else charset = hasUpper ? 'uppernum' : 'lowernum';
      return [cls(charset, s.minLen, s.maxLen)];
    }
  }
}

function mergeLiterals(chunks: FormatChunk[]): FormatChunk[] {
  const out: FormatChunk[] = [];
  for (const chunk of chunks) {
    const last = out[out.length - 1];
    if (chunk.kind === 'literal' && last?.kind === 'literal')
      out[out.length - 1] = { kind: 'literal', text: last.text + chunk.text };
    else out.push(chunk);
  }
  return out;
}

const CHARSET_PATTERN: Record<Extract<FormatChunk, { kind: 'class' }>['charset'], string> = {
  digit: '\\d',
  lower: '[a-z]',
  upper: '[A-Z]',
  alpha: '[A-Za-z]',
  hex: '[0-9a-f]',
  HEX: '[0-9A-F]',
  lowernum: '[a-z0-9]',
  uppernum: '[A-Z0-9]',
  alnum: '[A-Za-z0-9]',
};

/** A regular expression (without anchors) that matches every value of the format. */
export function patternOf(chunks: FormatChunk[]): string {
  return chunks
    .map((c) => {
      if (c.kind === 'literal') return c.text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
      const count = c.min === c.max ? `{${c.min}}` : `{${c.min},${c.max}}`;
      return CHARSET_PATTERN[c.charset] + count;
    })
    .join('');
}

// Label rules: a declared formula computes a label column from the generated features, so a
// supervised candidate can be evaluated on synthetic data whose ground truth is known.
//
//   is_fraud ~ logistic(-4 + 0.8 * log1p(amount) + 2.5 * is_foreign + (channel == 'web'))
//   risk_band = if(merchant_risk > 0.5, 'high', 'low')
//
// `name = expr` stores the expression's value; `name ~ expr` draws 1 with probability expr (clamped
// to [0, 1]) and 0 otherwise. A boolean column the profile already has is always drawn, with the
// value as the probability of true (so a 0/1 expression gives itself). The language is deliberately small — see docs/data-synthesis.md:
// numbers, 'strings', column names (`back-quoted` when they are not plain identifiers), + - * / % ^,
// comparisons (== != < <= > >=, giving 1 or 0), and / or / not, and the functions listed in
// FUNCTIONS. A missing input makes the result missing, unless coalesce() supplies a default.

import { HOUR_MS, weekdayOf } from '../profile/datetime';
import { DataInputError } from '../profile/errors';
import type { Random } from '../profile/random';

export type LabelValue = number | string | null;
type Kind = 'number' | 'string';

export interface LabelRule {
  target: string;
  /** '=' stores the value; '~' draws a Bernoulli label with the value as probability. */
  mode: '=' | '~';
  kind: Kind;
  source: string;
  evaluate(read: (column: number) => LabelValue, random: Random): LabelValue;
}

/** A syntax or type problem in a rule, pointing at the character where it was found. */
export class LabelRuleError extends DataInputError {
  constructor(rule: string, position: number, message: string) {
    super(`--label ${JSON.stringify(rule)}`, `at character ${position + 1}`, message);
    this.name = 'LabelRuleError';
  }
}

type Token =
  | { type: 'number'; value: number; pos: number }
  | { type: 'string'; value: string; pos: number }
  | { type: 'name'; value: string; pos: number; quoted: boolean }
  | { type: 'op'; value: string; pos: number }
  | { type: 'end'; pos: number };

const OPERATORS = ['<=', '>=', '==', '!=', '+', '-', '*', '/', '%', '^', '(', ')', ',', '<', '>', '=', '~'];

function tokenize(rule: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < rule.length) {
    const c = rule[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const number = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(rule.slice(i));
    if (number) {
      tokens.push({ type: 'number', value: Number(number[0]), pos: i });
      i += number[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = rule.indexOf(c, i + 1);
      if (end < 0) throw new LabelRuleError(rule, i, 'a string is never closed');
      tokens.push({ type: 'string', value: rule.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    if (c === '`') {
      const end = rule.indexOf('`', i + 1);
      if (end < 0) throw new LabelRuleError(rule, i, 'a `quoted` column name is never closed');
      tokens.push({ type: 'name', value: rule.slice(i + 1, end), pos: i, quoted: true });
      i = end + 1;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rule.slice(i));
    if (name) {
      tokens.push({ type: 'name', value: name[0], pos: i, quoted: false });
      i += name[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rule.startsWith(o, i));
    if (!op) throw new LabelRuleError(rule, i, `unexpected ${JSON.stringify(c)}`);
    tokens.push({ type: 'op', value: op, pos: i });
    i += op.length;
  }
  tokens.push({ type: 'end', pos: rule.length });
  return tokens;
}

type Node = { kind: Kind; pos: number; eval: (read: (column: number) => LabelValue, random: Random) => LabelValue };

/** What a rule may reference: each column's index in the generated row and the kind of its values. */
export interface RuleScope {
  columns: Map<string, { index: number; kind: Kind }>;
}

type Fn = {
  args: [number, number];
  kinds?: Kind[];
  result: Kind | 'first';
  apply: (args: LabelValue[], random: Random) => LabelValue;
};

const num = (x: LabelValue): number => x as number;
const nullSafe =
  (f: (...xs: number[]) => number) =>
  (args: LabelValue[]): LabelValue =>
    args.some((a) => a === null) ? null : finiteOrNull(f(...args.map(num)));
const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

const FUNCTIONS: Record<string, Fn> = {
  logistic: { args: [1, 1], result: 'number', apply: nullSafe((x) => 1 / (1 + Math.exp(-x))) },
  exp: { args: [1, 1], result: 'number', apply: nullSafe(Math.exp) },
  log: { args: [1, 1], result: 'number', apply: nullSafe(Math.log) },
  log1p: { args: [1, 1], result: 'number', apply: nullSafe(Math.log1p) },
  sqrt: { args: [1, 1], result: 'number', apply: nullSafe(Math.sqrt) },
  abs: { args: [1, 1], result: 'number', apply: nullSafe(Math.abs) },
  floor: { args: [1, 1], result: 'number', apply: nullSafe(Math.floor) },
  ceil: { args: [1, 1], result: 'number', apply: nullSafe(Math.ceil) },
  round: { args: [1, 1], result: 'number', apply: nullSafe(Math.round) },
  min: { args: [2, 16], result: 'number', apply: nullSafe(Math.min) },
  max: { args: [2, 16], result: 'number', apply: nullSafe(Math.max) },
  clamp: { args: [3, 3], result: 'number', apply: nullSafe((x, lo, hi) => Math.min(hi, Math.max(lo, x))) },
  /** Epoch milliseconds (a datetime column) → hour of day 0–23, weekday 0 (Monday)–6, month 1–12. */
  hour: {
    args: [1, 1],
    result: 'number',
    apply: nullSafe((t) => Math.floor((((t % 86_400_000) + 86_400_000) % 86_400_000) / HOUR_MS)),
  },
  weekday: { args: [1, 1], result: 'number', apply: nullSafe((t) => weekdayOf(t)) },
  month: { args: [1, 1], result: 'number', apply: nullSafe((t) => new Date(t).getUTCMonth() + 1) },
  /** A fresh standard normal draw per row, times `sd` (default 1). */
  normal: {
    args: [0, 1],
    result: 'number',
    apply: (args, random) => random.normal() * (args.length ? ((args[0] as number | null) ?? 1) : 1),
  },
  uniform: { args: [0, 0], result: 'number', apply: (_args, random) => random.next() },
  bernoulli: {
    args: [1, 1],
    result: 'number',
    apply: (args, random) => (args[0] === null ? null : random.next() < num(args[0]) ? 1 : 0),
  },
  if: {
    args: [3, 3],
    kinds: ['number'],
    result: 'first',
    apply: (args) => (args[0] === null ? null : num(args[0]) !== 0 ? args[1] : args[2]),
  },
  coalesce: { args: [2, 16], result: 'first', apply: (args) => args.find((a) => a !== null) ?? null },
};

class Parser {
  private i = 0;

  constructor(
    private readonly rule: string,
    private readonly tokens: Token[],
    private readonly scope: RuleScope,
  ) {}

  private peek(): Token {
    return this.tokens[this.i];
  }

  private fail(pos: number, message: string): never {
    throw new LabelRuleError(this.rule, pos, message);
  }

  private isOp(value: string): boolean {
    const t = this.peek();
    return t.type === 'op' && t.value === value;
  }

  private isWord(value: string): boolean {
    const t = this.peek();
    return t.type === 'name' && !t.quoted && t.value === value;
  }

  private expect(value: string): void {
    if (!this.isOp(value)) this.fail(this.peek().pos, `expected ${JSON.stringify(value)}`);
    this.i++;
  }

  rulePart(): { target: string; mode: '=' | '~'; expr: Node } {
    const target = this.peek();
    if (target.type !== 'name')
      this.fail(target.pos, 'expected the label column name, then = or ~, then an expression');
    this.i++;
    const mode = this.peek();
    if (mode.type !== 'op' || (mode.value !== '=' && mode.value !== '~'))
      this.fail(mode.pos, 'expected = (store the value) or ~ (draw 0/1 with that probability)');
    this.i++;
    const expr = this.or();
    const end = this.peek();
    if (end.type !== 'end') this.fail(end.pos, 'unexpected text after the expression');
    return { target: target.value, mode: mode.value, expr };
  }

  private numeric(node: Node, what: string): Node {
    if (node.kind !== 'number')
      this.fail(node.pos, `${what} needs numbers; this is text (compare it with == or != instead)`);
    return node;
  }

  private or(): Node {
    let left = this.and();
    while (this.isWord('or')) {
      const pos = this.peek().pos;
      this.i++;
      const a = this.numeric(left, 'or');
      const b = this.numeric(this.and(), 'or');
      left = { kind: 'number', pos, eval: (r, rnd) => logic(a.eval(r, rnd), () => b.eval(r, rnd), true) };
    }
    return left;
  }

  private and(): Node {
    let left = this.not();
    while (this.isWord('and')) {
      const pos = this.peek().pos;
      this.i++;
      const a = this.numeric(left, 'and');
      const b = this.numeric(this.not(), 'and');
      left = { kind: 'number', pos, eval: (r, rnd) => logic(a.eval(r, rnd), () => b.eval(r, rnd), false) };
    }
    return left;
  }

  private not(): Node {
    if (this.isWord('not')) {
      const pos = this.peek().pos;
      this.i++;
      const a = this.numeric(this.not(), 'not');
      return {
        kind: 'number',
        pos,
        eval: (r, rnd) => {
          const x = a.eval(r, rnd);
          return x === null ? null : x === 0 ? 1 : 0;
        },
      };
    }
    return this.comparison();
  }

  private comparison(): Node {
    const left = this.additive();
    const t = this.peek();
    if (t.type !== 'op' || !['==', '!=', '<', '<=', '>', '>='].includes(t.value)) return left;
    this.i++;
    const right = this.additive();
    if (left.kind !== right.kind)
      this.fail(
        t.pos,
        `cannot compare ${left.kind === 'string' ? 'text' : 'a number'} with ${right.kind === 'string' ? 'text' : 'a number'}`,
      );
    const op = t.value;
    const test = (a: number | string, b: number | string): boolean => {
      switch (op) {
        case '==':
          return a === b;
        case '!=':
          return a !== b;
        case '<':
          return a < b;
        case '<=':
          return a <= b;
        case '>':
          return a > b;
        default:
          return a >= b;
      }
    };
    return {
      kind: 'number',
      pos: t.pos,
      eval: (r, rnd) => {
        const a = left.eval(r, rnd);
        const b = right.eval(r, rnd);
        return a === null || b === null ? null : test(a, b) ? 1 : 0;
      },
    };
  }

  private additive(): Node {
    let left = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const t = this.peek() as { value: string; pos: number };
      this.i++;
      const a = this.numeric(left, t.value);
      const b = this.numeric(this.multiplicative(), t.value);
      left = arithmetic(t.value, a, b, t.pos);
    }
    return left;
  }

  private multiplicative(): Node {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const t = this.peek() as { value: string; pos: number };
      this.i++;
      const a = this.numeric(left, t.value);
      const b = this.numeric(this.unary(), t.value);
      left = arithmetic(t.value, a, b, t.pos);
    }
    return left;
  }

  private unary(): Node {
    if (this.isOp('-')) {
      const pos = this.peek().pos;
      this.i++;
      const a = this.numeric(this.unary(), 'minus');
      return {
        kind: 'number',
        pos,
        eval: (r, rnd) => {
          const x = a.eval(r, rnd);
          return x === null ? null : -(x as number);
        },
      };
    }
    return this.power();
  }

  private power(): Node {
    const base = this.primary();
    if (!this.isOp('^')) return base;
    const pos = this.peek().pos;
    this.i++;
    return arithmetic('^', this.numeric(base, '^'), this.numeric(this.unary(), '^'), pos);
  }

  private primary(): Node {
    const t = this.peek();
    this.i++;
    if (t.type === 'number') return { kind: 'number', pos: t.pos, eval: () => t.value };
    if (t.type === 'string') return { kind: 'string', pos: t.pos, eval: () => t.value };
    if (t.type === 'op' && t.value === '(') {
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    if (t.type === 'name') {
      if (!t.quoted && this.isOp('(')) return this.call(t.value, t.pos);
      if (!t.quoted && (t.value === 'true' || t.value === 'false')) {
        const value = t.value === 'true' ? 1 : 0;
        return { kind: 'number', pos: t.pos, eval: () => value };
      }
      const column = this.scope.columns.get(t.value);
      if (!column) {
        this.fail(
          t.pos,
          `no column named ${JSON.stringify(t.value)}; columns: ${[...this.scope.columns.keys()].join(', ')}`,
        );
      }
      const index = column.index;
      return { kind: column.kind, pos: t.pos, eval: (read) => read(index) };
    }
    this.fail(t.pos, t.type === 'end' ? 'the expression ends too early' : `unexpected ${JSON.stringify(t.value)}`);
  }

  private call(name: string, pos: number): Node {
    const fn = FUNCTIONS[name];
    if (!fn) this.fail(pos, `unknown function ${name}(); known: ${Object.keys(FUNCTIONS).join(', ')}`);
    this.i++; // (
    const args: Node[] = [];
    if (!this.isOp(')')) {
      for (;;) {
        args.push(this.or());
        if (!this.isOp(',')) break;
        this.i++;
      }
    }
    this.expect(')');
    const [min, max] = fn.args;
    if (args.length < min || args.length > max) {
      this.fail(
        pos,
        `${name}() takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'}, got ${args.length}`,
      );
    }
    let kind: Kind = 'number';
    if (fn.result === 'first') {
      const values = name === 'if' ? args.slice(1) : args;
      kind = values[0].kind;
      for (const a of values)
        if (a.kind !== kind) this.fail(a.pos, `${name}() needs all its values of one kind (numbers or text)`);
      if (name === 'if') this.numeric(args[0], 'the condition of if()');
    } else {
      for (const a of args) this.numeric(a, `${name}()`);
    }
    return {
      kind,
      pos,
      eval: (r, rnd) =>
        fn.apply(
          args.map((a) => a.eval(r, rnd)),
          rnd,
        ),
    };
  }
}

function logic(a: LabelValue, b: () => LabelValue, isOr: boolean): LabelValue {
  if (a === null) return null;
  if (isOr ? a !== 0 : a === 0) return isOr ? 1 : 0;
  const y = b();
  return y === null ? null : y !== 0 ? 1 : 0;
}

function arithmetic(op: string, a: Node, b: Node, pos: number): Node {
  const f: (x: number, y: number) => number =
    op === '+'
      ? (x, y) => x + y
      : op === '-'
        ? (x, y) => x - y
        : op === '*'
          ? (x, y) => x * y
          : op === '/'
            ? (x, y) => x / y
            : op === '%'
              ? (x, y) => x % y
              : (x, y) => x ** y;
  return {
    kind: 'number',
    pos,
    eval: (r, rnd) => {
      const x = a.eval(r, rnd);
      if (x === null) return null;
      const y = b.eval(r, rnd);
      return y === null ? null : finiteOrNull(f(x as number, y as number));
    },
  };
}

/** Parses and type-checks a rule against the columns it may read. */
export function compileLabelRule(rule: string, scope: RuleScope): LabelRule {
  const { target, mode, expr } = new Parser(rule, tokenize(rule), scope).rulePart();
  if (mode === '~' && expr.kind !== 'number')
    throw new LabelRuleError(rule, expr.pos, '~ needs a probability (a number), not text');
  if (mode === '~') {
    return {
      target,
      mode,
      kind: 'number',
      source: rule,
      evaluate: (read, random) => {
        const p = expr.eval(read, random);
        if (p === null) return null;
        return random.next() < Math.min(1, Math.max(0, p as number)) ? 1 : 0;
      },
    };
  }
  return { target, mode, kind: expr.kind, source: rule, evaluate: (read, random) => expr.eval(read, random) };
}

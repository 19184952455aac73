// Column-level evidence. A value alone cannot tell `0423660791` (a phone number written without
// separators) from an order id, or `612.34.56.78` (a Spanish mobile with dots) from an IPv4 address.
// The column can: its name, and the share of its values that hold a kind of finding. The detectors
// count such values as *candidates* (detectors.ts, `CandidateSlots`); this module decides per
// column whether they count, and gives each column finding a confidence.
//
// Rules:
// - Candidate phones (unseparated national numbers, loosely grouped ones such as `959-325-358`,
//   dotted numbers read as IPv4) count as phones only in a *phone column*: one whose name says so
//   (PHONE_NAME), or an unnamed one where at least half the values hold a phone finding or an
//   unseparated or loosely grouped candidate. Dotted candidates then move from ipv4 to phone.
// - Candidate SSNs (nine unseparated digits that pass the SSA rules) count only in an *SSN column*:
//   named so (SSN_NAME), or an unnamed one with at least half its values an SSN or a candidate SSN.
// - An unnamed column that qualifies as both (nine-digit values) is the kind with the larger
//   share; on a tie, SSN. A column named for any kind (an email, an IP address…) takes the
//   candidates of that kind only.
//
// Confidence of a column finding (0.05–0.99, two decimals), from the detector's prior:
// - share s of the column's values holding that finding: s ≥ 0.5 raises it (c += (1 − c)·(s − 0.5)·1.6),
//   s < 0.1 lowers it by 0.15 (a stray match in free text, or a coincidence);
// - a name for that kind raises it (c += (1 − c)·0.6); a name for another kind lowers it by 0.25;
// - findings that rest only on candidates in an unnamed column are capped at 0.6.
// Counts and confidences only: no value reaches this module.

import type { PiiDetectors } from './detectors';

export const PHONE_NAME = /phone|mobile|msisdn|cellular|telefon|(?:^|[^a-z])(?:tel|fax|cell|handy|mob)(?:[^a-z]|$)/i;
export const SSN_NAME = /ssn|social/i;
const KIND_NAMES: ReadonlyArray<readonly [string, RegExp]> = [
  ['phone', PHONE_NAME],
  ['ssn', SSN_NAME],
  ['email', /e-?mail/i],
  ['iban', /iban|bank.?account/i],
  ['card', /card|(?:^|[^a-z])(?:pan|cc)(?:[^a-z]|$)/i],
  ['ipv4', /(?:^|[^a-z])ip(?:v?4)?(?:[^a-z]|$)|ip.?addr/i],
  ['ipv6', /(?:^|[^a-z])ip(?:v?6)?(?:[^a-z]|$)|ip.?addr/i],
];

/** How sure a detector's finding is on its own, before any column evidence. */
const PRIOR: Readonly<Record<string, number>> = {
  email: 0.9,
  iban: 0.95,
  card: 0.85,
  ipv6: 0.85,
  ipv4: 0.75,
  ssn: 0.7,
  phone: 0.7,
};
const DEFAULT_PRIOR = 0.8;
/** "Mostly": at least this share of a column's values. */
export const MOSTLY = 0.5;

/** What a scan tallied for one column: `counts` and `valuesWith` have `detectors.slots` entries. */
export interface ColumnTally {
  /** Non-empty values scanned. */
  values: number;
  /** Findings and candidates per slot. */
  counts: ArrayLike<number>;
  /** Values with at least one finding or candidate, per slot. */
  valuesWith: ArrayLike<number>;
}

export interface ColumnKinds {
  phone: boolean;
  ssn: boolean;
  /** The kind the column's name says, if any. */
  named?: string;
}

export interface ColumnFinding {
  detector: string;
  count: number;
  confidence: number;
}

/** The kind a column's name says (phone, ssn, email, iban, card, ipv4, ipv6), if any. */
export function kindOfName(name: string): string | undefined {
  // `phone_ip` is rare; the first kind listed wins.
  return KIND_NAMES.find(([, re]) => re.test(name))?.[0];
}

const at = (a: ArrayLike<number>, i: number): number => (i >= 0 ? a[i] : 0);

/** Whether the column is a phone column, an SSN column, both or neither (see the rules above). */
export function columnKinds(detectors: PiiDetectors, name: string, tally: ColumnTally): ColumnKinds {
  const named = kindOfName(name);
  const { values, valuesWith } = tally;
  const c = detectors.candidates;
  const phoneSlot = detectors.slotOf('phone');
  const ssnSlot = detectors.slotOf('ssn');
  const share = (n: number): number => (values === 0 ? 0 : Math.min(1, n / values));
  // Dotted quads that read as phones do not make a column a phone column: a column of addresses
  // such as 10.123.45.67 stays one.
  const phoneShare = share(at(valuesWith, phoneSlot) + valuesWith[c.phone]);
  const ssnShare = share(at(valuesWith, ssnSlot) + valuesWith[c.ssn]);
  const phone0 = named === 'phone' || (named === undefined && phoneShare >= MOSTLY);
  const ssn0 = named === 'ssn' || (named === undefined && ssnShare >= MOSTLY);
  let phone = phoneSlot >= 0 && phone0;
  let ssn = ssnSlot >= 0 && ssn0;
  if (phone && ssn && named === undefined) {
    if (ssnShare >= phoneShare) phone = false;
    else ssn = false;
  }
  return { phone, ssn, named };
}

/** Counts per name (`detectors.names` order) once the column's kinds decide the candidates; adds to `out`. */
export function applyColumnKinds(
  detectors: PiiDetectors,
  kinds: ColumnKinds,
  counts: ArrayLike<number>,
  out: number[] | Float64Array,
): void {
  const c = detectors.candidates;
  for (let i = 0; i < detectors.names.length; i++) out[i] += counts[i];
  if (kinds.phone) {
    out[detectors.slotOf('phone')] += counts[c.phone] + counts[c.ipv4AsPhone];
    const ipv4 = detectors.slotOf('ipv4');
    if (ipv4 >= 0) out[ipv4] -= counts[c.ipv4AsPhone];
  }
  if (kinds.ssn) out[detectors.slotOf('ssn')] += counts[c.ssn];
}

const round = (x: number): number => Math.round(Math.min(0.99, Math.max(0.05, x)) * 100) / 100;

/** The column's findings (count > 0), each with its confidence. */
export function columnFindings(detectors: PiiDetectors, name: string, tally: ColumnTally): ColumnFinding[] {
  const kinds = columnKinds(detectors, name, tally);
  const counts = new Array<number>(detectors.names.length).fill(0);
  applyColumnKinds(detectors, kinds, tally.counts, counts);
  const c = detectors.candidates;
  const out: ColumnFinding[] = [];
  detectors.names.forEach((detector, i) => {
    if (counts[i] <= 0) return;
    let with_ = tally.valuesWith[i];
    let fromCandidatesOnly = false;
    if (detector === 'phone' && kinds.phone) {
      with_ += tally.valuesWith[c.phone] + tally.valuesWith[c.ipv4AsPhone];
      fromCandidatesOnly = tally.counts[i] === 0;
    } else if (detector === 'ipv4' && kinds.phone) {
      with_ = Math.max(0, with_ - tally.valuesWith[c.ipv4AsPhone]);
    } else if (detector === 'ssn' && kinds.ssn) {
      with_ += tally.valuesWith[c.ssn];
      fromCandidatesOnly = tally.counts[i] === 0;
    }
    const share = tally.values === 0 ? 0 : Math.min(1, with_ / tally.values);
    out.push({ detector, count: counts[i], confidence: confidence(detector, share, kinds.named, fromCandidatesOnly) });
  });
  return out;
}

/** The confidence of a finding of `detector` held by `share` of a column's values (rules above). */
export function confidence(
  detector: string,
  share: number,
  named: string | undefined,
  fromCandidatesOnly = false,
): number {
  let c = PRIOR[detector] ?? DEFAULT_PRIOR;
  if (share >= MOSTLY) c += (1 - c) * (share - MOSTLY) * 1.6;
  else if (share < 0.1) c -= 0.15;
  const sameKind = named === detector || (named !== undefined && named.startsWith('ip') && detector.startsWith('ip'));
  if (sameKind) c += (1 - c) * 0.6;
  else if (named !== undefined && PRIOR[detector] !== undefined) c -= 0.25;
  if (fromCandidatesOnly && named === undefined) c = Math.min(c, 0.6);
  return round(c);
}

import type { JsonOption, LocalAttribution } from '../command';

/** The options of the data commands: profile, generate, sanitize, scan, approve, approvals, revoke, keyring init. */
export interface DataOptions {
  profile: JsonOption & {
    /** The table; required for PostgreSQL and for SQLite files holding several; names a CSV's table. */
    table?: string;
    /** Where to write the profile (JSON). */
    out: string;
    /** k-anonymity: values seen fewer than k times are not published; an integer ≥ 1. @default DEFAULT_K */
    k: string;
    /** Rows in the uniform sample behind quantiles and associations; an integer ≥ 100. @default "50000" */
    sampleRows: string;
    /** Comma-separated columns recorded by format only, whatever they hold. */
    formatOnly?: string;
  };
  generate: JsonOption & {
    /** A profile written by `strata data profile`. */
    profile: string;
    /** How many rows; an integer ≥ 1. */
    rows: string;
    /** The seed: the same profile, options and seed give the same rows. @default "1" */
    seed: string;
    /** Write a CSV file (exactly one of out, db and env). */
    out?: string;
    /** Write a table into a SQLite database, created if missing. */
    db?: string;
    /** Write the table into a provisioned layer's environment, only if the fidelity threshold is met. */
    env?: string;
    /** The table, with db or env. @default the profiled table's name */
    table?: string;
    /** With db: replace the table if it exists. @default false */
    replace?: boolean;
    /** Label columns from rules such as 'is_fraud ~ logistic(-4 + 2 * is_foreign)'. @default [] */
    label: string[];
    /** Strength of datetime patterns, 0…10: 0 flat, 1 as profiled. @default "1" */
    seasonality: string;
    /** Extra missing values in every non-identifier column, 0…0.99. @default "0" */
    missing: string;
    /** Numeric noise in standard deviations, 0…10. @default "0" */
    noise: string;
    /** Mean shift reached by the last row, -10…10. @default "0" */
    drift: string;
    /** Fail (exit 1) below this overall fidelity, 0…1. @default DEFAULT_FIDELITY_THRESHOLD */
    minFidelity: string;
    /** Where to write the fidelity report. @default next to the output, *.fidelity.json */
    report?: string;
    /** With env: PII findings tolerated in the generated table. @default "0" */
    piiAllow?: string;
  };
  sanitize: JsonOption & {
    /** masking.yaml: keyring, table, and an op per column. */
    policy: string;
    /** Write a .csv file or an SQLite database (exactly one of out and env). */
    out?: string;
    /** Write the table into $STRATA_HOME/envs/<layer>/data.db. */
    env?: string;
    /** The environment whose key pseudonymizes hmac and fake columns. @default the env layer */
    environmentKeyName?: string;
    /** The keyring key to derive from. @default the keyring's active key */
    key?: string;
  };
  scan: JsonOption & {
    /** Findings allowed before the scan fails with exit code 1; a whole number. @default "0" */
    allow: string;
    /** YAML file of extra detectors: {name: regex}. */
    patterns?: string;
    /** Terms to find as whole words, one per line. */
    denyList?: string;
  };
  approve: JsonOption & LocalAttribution;
  approvals: JsonOption;
  revoke: LocalAttribution;
  keyringInit: {
    /** Where to write the keyring. @default $STRATA_KEYRING, else DEFAULT_KEYRING */
    file?: string;
    /** The key's name. @default "k1" */
    name: string;
  };
}

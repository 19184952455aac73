import fs from 'node:fs';
import path from 'node:path';
import { DRILL_SCENARIOS, type DrillObjective, type DrillScenario, scenarioConfigProblem } from '../domain/drill';
import { z } from 'zod';
import { DURATION_HINT, parseDuration } from '../domain/duration';
import { GROUP_PREFIX, normalizeIdentity } from '../domain/identity';
import {
  type ApprovalPolicy,
  DATA_CLASSIFICATIONS,
  type DataSeedSpec,
  type DataSourceSpec,
  type GateSpec,
  type LadderSpec,
  type LayerSpec,
  type RollbackPolicy,
} from '../domain/ladder';
import { gateConfigs, gateTypes } from '../gates/configs';
import {
  ConfigError,
  type ConfigIssue,
  configErrorMap,
  describeValue,
  expectedGot,
  formatPath,
  quoteList,
  validate,
} from '../validation/errors';
import { parseYamlMapping, readConfigFile } from './yaml';
import { resolveUserPath } from '../tools/files';

// ladder.yaml → LadderSpec. The file format is documented, field by field, in examples/ladder.yaml.

export const DEFAULT_APPROVAL_EXPIRY = '72h';
export const DEFAULT_ROLLBACK: RollbackPolicy = 'previous';
/** The `file` of a ConfigError about --from / --to. */
export const COMMAND_LINE = '<command line>';

const NAME_PATTERN = /^[a-z][a-z0-9-]*$/;

// Layer and gate names end up in workflow ids, directory names and URLs: keep them plain.
function nameSchema(what: string) {
  return z
    .string()
    .regex(NAME_PATTERN, {
      error: (issue) =>
        expectedGot(`a ${what} of lowercase letters, digits and '-', starting with a letter`, issue.input),
    })
    .max(63);
}

/** No duration in a ladder is longer than this (so none overflows a timer or a date). */
const MAX_DURATION_MS = 10 * 365 * 24 * 3600_000;
const durationSchema = durationAtLeast(1);
/** Objectives may be zero: "rpo: 0s" means no acknowledged write may be lost. */
const objectiveDurationSchema = durationAtLeast(0);

function durationAtLeast(minMs: number) {
  return z.string({ error: (issue) => expectedGot(DURATION_HINT, issue.input) }).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${DURATION_HINT}, got ${describeValue(text)}` });
      return z.NEVER;
    }
    if (ms < minMs) {
      ctx.addIssue({ code: 'custom', message: `expected a duration longer than zero, got ${describeValue(text)}` });
      return z.NEVER;
    }
    if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
      ctx.addIssue({ code: 'custom', message: `expected a duration of at most 10 years, got ${describeValue(text)}` });
      return z.NEVER;
    }
    return text.trim();
  });
}

const rollbackSchema = z.enum(['previous', 'keep']);
const leaseSchema = z.enum(['wait', 'fail-fast']);

/** Recovery objectives per drill scenario: `drills: { table-dropped: { rto: 60s, rpo: 5s } }`. */
const drillObjectiveSchema = z.strictObject({ rto: durationSchema, rpo: objectiveDurationSchema });
const drillsSchema = z.partialRecord(z.enum(DRILL_SCENARIOS), drillObjectiveSchema);

const seedSchema = z.strictObject({
  rows: z.number().int().min(1).max(10_000_000),
  seed: z.number().int().min(0),
});

/** Overall fidelity a synthetic seed must reach unless the layer sets `data.fidelity`. */
export const DEFAULT_FIDELITY_THRESHOLD = 0.85;

/** One entry of the ladder's `data.sources`. Paths are relative to the ladder file. */
const dataSourceSchema = z.strictObject({
  name: nameSchema('data source name'),
  classification: z.enum(DATA_CLASSIFICATIONS, {
    error: (issue) => expectedGot(`one of ${quoteList(DATA_CLASSIFICATIONS)}`, issue.input),
  }),
  /** synthetic: a profile JSON; masked / production: a CSV file or an SQLite database. */
  file: z.string().trim().min(1),
  table: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional(),
  labels: z.array(z.string().trim().min(1)).optional(),
  /** synthetic: the approved real file the profile was made from; fidelity is measured against a held-out sample of it. */
  holdout: z.string().trim().min(1).optional(),
  description: z.string().optional(),
});

const dataSchema = z.strictObject({
  /** Overrides the masking policies' keyring (the worker's STRATA_KEYRING overrides both). */
  keyring: z.string().trim().min(1).optional(),
  sources: z.array(dataSourceSchema).min(1),
});

const fraction = z.number().min(0).max(1);
const realismSchema = z.strictObject({
  seasonality: z.number().min(0).max(5).optional(),
  missingRate: fraction.optional(),
  noise: z.number().min(0).max(10).optional(),
  drift: z.number().min(-5).max(5).optional(),
});

/** A layer's `data:`; `source` names an entry of the ladder's `data.sources`. */
const layerDataSchema = z.strictObject({
  source: nameSchema('data source name'),
  rows: z.number().int().min(1).max(10_000_000).optional(),
  seed: z.number().int().min(0).default(0),
  policy: z.string().trim().min(1).optional(),
  table: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .optional(),
  realism: realismSchema.optional(),
  /**
   * Minimum overall fidelity (0..1), or the thresholds one by one: `overall`, and the scores only
   * held-out real rows give, `columnShape` (the lowest column), `detection`, `mlEfficacy`.
   */
  fidelity: z
    .union([
      fraction,
      z.strictObject({
        overall: fraction.optional(),
        columnShape: fraction.optional(),
        detection: fraction.optional(),
        mlEfficacy: fraction.optional(),
      }),
    ])
    .optional(),
  pii: z.strictObject({ allow: z.number().int().min(0).default(0) }).optional(),
});

const seedsSchema = z
  .array(z.number().int().min(0), {
    error: (issue) => expectedGot('a list of integer seeds, e.g. [41, 42, 43]', issue.input),
  })
  .min(2, { error: 'expected at least 2 seeds: the spread of one seed is meaningless' })
  .max(50);

const escalateSchema = z.strictObject(
  {
    /** Time since the layer began awaiting approval, e.g. 24h. */
    after: durationSchema,
    /** Identities or `group:<name>` entries who may approve from then on. */
    to: z
      .array(z.string().trim().min(1), {
        error: (issue) =>
          expectedGot('a list of approvers or group:<name> entries, e.g. [group:sre-leads]', issue.input),
      })
      .min(1, { error: 'expected at least one approver or group:<name> to escalate to, got an empty list' }),
  },
  { error: (issue) => expectedGot('a mapping { after, to }, e.g. { after: 24h, to: [group:sre-leads] }', issue.input) },
);

const manualApprovalSchema = z
  .strictObject({
    required: z.number().int().min(1),
    approvers: z.array(z.string().trim().min(1)).min(1),
    expiry: durationSchema.optional(),
    /** Reminders, as time since the layer began awaiting approval, e.g. [4h, 20h]. */
    remind: z
      .array(durationSchema, {
        error: (issue) => expectedGot('a list of durations, e.g. [4h, 20h]', issue.input),
      })
      .min(1, { error: 'expected at least one reminder, e.g. [4h, 20h]; leave `remind` out for none' })
      .optional(),
    escalate: escalateSchema.optional(),
  })
  .transform((approval): ManualApproval => ({
    required: approval.required,
    approvers: [...new Set(approval.approvers.map((a) => normalizeIdentity(a)))],
    expiry: approval.expiry,
    ...(approval.remind ? { remind: approval.remind } : {}),
    ...(approval.escalate
      ? {
          escalate: {
            after: approval.escalate.after,
            to: [...new Set(approval.escalate.to.map((a) => normalizeIdentity(a)))],
          },
        }
      : {}),
  }));

interface ManualApproval {
  required: number;
  approvers: string[];
  expiry?: string;
  remind?: string[];
  escalate?: { after: string; to: string[] };
}

const approvalSchema = z.union([z.literal('auto'), manualApprovalSchema], {
  error: (issue) => expectedGot('"auto" or a mapping { required, approvers, expiry, remind, escalate }', issue.input),
});

function knownGateTypes(): string {
  return gateTypes().join(', ');
}

/**
 * One entry of `gates:`. The entry's own keys are checked here; `threshold` and `options` by the
 * schema of the gate type in the registry, so a new gate needs no change in this file.
 */
const gateSchema = z
  .strictObject({
    type: z.string({ error: (issue) => expectedGot(`a gate type (one of ${knownGateTypes()})`, issue.input) }),
    name: nameSchema('gate name').optional(),
    threshold: z.unknown().optional(),
    options: z.unknown().optional(),
    parallel: z.boolean().optional(),
  })
  .transform((entry, ctx): GateSpec => {
    const gate = Object.hasOwn(gateConfigs, entry.type) ? gateConfigs[entry.type] : undefined;
    if (!gate) {
      ctx.addIssue({
        code: 'custom',
        path: ['type'],
        input: entry.type,
        message: `unknown gate type ${describeValue(entry.type)}; known types: ${knownGateTypes()}`,
      });
      return z.NEVER;
    }
    if (entry.parallel && gate.exclusive) {
      ctx.addIssue({
        code: 'custom',
        path: ['parallel'],
        input: entry.parallel,
        message: `a ${entry.type} gate measures latency or injects faults, so it may not run beside other gates (their load would distort it): remove parallel: true`,
      });
      return z.NEVER;
    }
    const config: Record<string, unknown> = {};
    if (entry.threshold !== undefined) config.threshold = entry.threshold;
    // `options:` with every line commented out reads as null; treat it as absent.
    if (entry.options !== undefined && entry.options !== null) config.options = entry.options;
    const parsed = gate.config.safeParse(config, { error: configErrorMap });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
      return z.NEVER;
    }
    const spec: GateSpec = { name: entry.name ?? entry.type, type: entry.type, options: parsed.data.options };
    if (parsed.data.threshold !== undefined) spec.threshold = parsed.data.threshold;
    if (entry.parallel) spec.parallel = true;
    return spec;
  });

/**
 * Where the admin URL of a postgres provider comes from: `env:NAME`, `file:PATH` (relative to the
 * ladder file), or a postgres:// URL without a password. A password written in the ladder would
 * travel into every workflow history and every copy of the file: it is refused.
 */
const providerUrlSchema = z
  .string({ error: (issue) => expectedGot('env:NAME, file:PATH or a postgres:// URL without a password', issue.input) })
  .trim()
  .superRefine((url, ctx) => {
    const problem = providerUrlProblem(url);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Why a provider URL is refused (undefined when it is fine). Exported for the unit tests. */
export function providerUrlProblem(url: string): string | undefined {
  const ref = /^(env|file):(.*)$/.exec(url);
  if (ref) {
    if (ref[1] === 'env' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(ref[2]))
      return `expected env:NAME with an environment variable name, got ${describeValue(url)}`;
    if (ref[1] === 'file' && ref[2].trim() === '') return `expected file:PATH with a path, got ${describeValue(url)}`;
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `expected env:NAME, file:PATH or a postgres:// URL, got ${describeValue(url)}`;
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    return `expected env:NAME, file:PATH or a postgres:// URL, got a ${parsed.protocol} URL`;
  if (parsed.password !== '' || /[?&]password=/i.test(parsed.search))
    return (
      "the URL holds a password, and a ladder never does (it is recorded in every promotion's history): " +
      'put the URL in an environment variable of the worker (url: env:STRATA_POSTGRES_URL) or in a file (url: file:/path/to/url)'
    );
  return undefined;
}

/** An absolute path on the worker's machine (the ladder is read elsewhere too: no relative paths). */
function workerPathSchema(what: string) {
  return z
    .string({ error: (issue) => expectedGot(`the absolute path of ${what} on the worker's machine`, issue.input) })
    .trim()
    .superRefine((p, ctx) => {
      if (!path.isAbsolute(p) || /[\0\n]/.test(p))
        ctx.addIssue({
          code: 'custom',
          message: expectedGot(`the absolute path of ${what} on the worker's machine`, p),
        });
    });
}

/**
 * `provider.server`: how Strata controls the PostgreSQL server itself, which the `server-killed`
 * drill needs (it kills the postmaster and starts the server again with pg_ctl).
 */
const postgresServerSchema = z.strictObject(
  {
    dataDir: workerPathSchema("the cluster's data directory"),
    pgCtl: workerPathSchema('pg_ctl').optional(),
    user: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, {
        error: (issue) => expectedGot('the name of the OS user that runs the server, e.g. postgres', issue.input),
      })
      .optional(),
    logFile: workerPathSchema("the file pg_ctl start appends the server's output to").optional(),
  },
  {
    // Only for a value that is no mapping: unknown keys keep their own message, naming the key.
    error: (issue) =>
      issue.code === 'invalid_type'
        ? expectedGot(
            'a mapping { dataDir, pgCtl?, user?, logFile? }, e.g. { dataDir: /var/lib/postgresql/16/main }',
            issue.input,
          )
        : undefined,
  },
);

const providerSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('local') }),
    z.strictObject({
      type: z.literal('postgres'),
      url: providerUrlSchema,
      /** When the worker has no such variable (or file): the local provider instead of a failed provision. */
      fallback: z.literal('local').optional(),
      /** How Strata may kill and start the server (the server-killed drill). */
      server: postgresServerSchema.optional(),
    }),
  ],
  { error: (issue) => expectedGot('{ type: local } or { type: postgres, url: ... }', issue.input) },
);

const layerSchema = z.strictObject({
  name: nameSchema('layer name'),
  description: z.string().optional(),
  /** The built-in example generator (rows, seed); a layer with `data:` seeds through the data plane instead. */
  seed: seedSchema.optional(),
  data: layerDataSchema.optional(),
  allowSanitizedProduction: z.boolean().optional(),
  seeds: seedsSchema.optional(),
  gates: z.array(gateSchema),
  approval: approvalSchema,
  rollback: rollbackSchema.optional(),
  ttl: durationSchema.optional(),
  /** When another promotion or drill holds the layer: wait in order (default) or fail at once. */
  lease: leaseSchema.optional(),
  /** How often the environment's database credentials are rotated, e.g. 24h. */
  credentialRotation: durationSchema.optional(),
  drills: drillsSchema.optional(),
  /** The environment's infrastructure: local (SQLite, the default) or postgres (a database and roles per environment). */
  provider: providerSchema.optional(),
});

const ladderSchema = z.strictObject({
  name: nameSchema('ladder name'),
  description: z.string().optional(),
  defaults: z
    .strictObject({
      approvalExpiry: durationSchema.optional(),
      rollback: rollbackSchema.optional(),
      ttl: durationSchema.optional(),
    })
    .optional(),
  data: dataSchema.optional(),
  /**
   * Folders (relative to the ladder file) whose files the ladder may reference besides its own
   * folder: data sources, policies, keyrings, profiles, request logs.
   */
  allowedPaths: z.array(z.string().trim().min(1)).optional(),
  layers: z
    .array(layerSchema, { error: (issue) => expectedGot('a list of layers', issue.input) })
    .min(1, { error: 'a ladder needs at least one layer, got an empty list' }),
});

type LadderFile = z.output<typeof ladderSchema>;

// --- rules across fields --------------------------------------------------------------------------
//
// Uniqueness and quorum are checked on the raw document, beside the schema rather than inside it:
// zod skips refinements once a value has other errors, and these mistakes are worth reporting in
// the same run as, say, a typo in a key. Each rule looks only at values of the expected type.

type Path = (string | number)[];
type Located = { path: Path; message: string };

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Reports every later use of a name already used earlier in the same list. */
function duplicateNames(
  listPath: Path,
  names: ReadonlyArray<{ name: unknown; at: Path; hint?: string }>,
  what: string,
): Located[] {
  const found: Located[] = [];
  const firstIndex = new Map<string, number>();
  names.forEach(({ name, at, hint }, index) => {
    if (typeof name !== 'string') return;
    const first = firstIndex.get(name);
    if (first === undefined) firstIndex.set(name, index);
    else {
      const also = `${listPath[listPath.length - 1]}[${first}]`;
      found.push({ path: at, message: `duplicate ${what} "${name}" (also ${also})${hint ?? ''}` });
    }
  });
  return found;
}

function approvalIssues(approval: Record<string, unknown>, at: Path): Located[] {
  const found: Located[] = [];
  const firstIndex = new Map<string, number>();
  const approvers = asArray(approval.approvers);
  approvers.forEach((raw, index) => {
    if (typeof raw !== 'string' || raw.trim() === '') return;
    const identity = normalizeIdentity(raw);
    const first = firstIndex.get(identity);
    if (first === undefined) {
      firstIndex.set(identity, index);
      return;
    }
    found.push({
      path: [...at, 'approvers', index],
      message:
        `${describeValue(raw)} is the same approver as ${describeValue(approvers[first])} ` +
        `(approvers[${first}]); identities are compared trimmed and case-insensitively`,
    });
  });
  const required = approval.required;
  const distinct = firstIndex.size;
  // A `required` that is not a positive integer, or no approvers, is reported by the schema.
  const wellFormed = typeof required === 'number' && Number.isInteger(required) && required >= 1;
  // A `group:<name>` entry may stand for any number of people: the quorum is checked at decision time.
  const namesGroups = [...firstIndex.keys()].some((identity) => identity.startsWith(GROUP_PREFIX));
  if (wellFormed && approvers.length > 0 && !namesGroups && required > distinct) {
    found.push({
      path: [...at, 'required'],
      message:
        `required ${required} approvals but only ${distinct} distinct ` +
        `${distinct === 1 ? 'approver is' : 'approvers are'} listed`,
    });
  }
  return found;
}

/** A duration as the ladder wrote it, in ms; undefined for anything the schema reports instead. */
function durationMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = parseDuration(value);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/**
 * Reminders come before the escalation and the expiry, in increasing order, and the escalation
 * comes before the expiry (the layer's own, else `defaults.approvalExpiry`, else 72h): a step due
 * after the layer has expired would never happen.
 */
function reminderIssues(approval: Record<string, unknown>, document: Record<string, unknown>, at: Path): Located[] {
  const found: Located[] = [];
  const ownExpiry = approval.expiry;
  const defaultExpiry = asRecord(document.defaults)?.approvalExpiry;
  const expiryText = String(ownExpiry ?? defaultExpiry ?? DEFAULT_APPROVAL_EXPIRY);
  const expiryFrom =
    ownExpiry !== undefined
      ? 'approval.expiry'
      : defaultExpiry !== undefined
        ? 'defaults.approvalExpiry'
        : 'the default expiry';
  const expiry = durationMs(ownExpiry ?? defaultExpiry ?? DEFAULT_APPROVAL_EXPIRY);
  const escalate = asRecord(approval.escalate);
  const escalateAfter = durationMs(escalate?.after);
  if (escalate && escalateAfter !== undefined && expiry !== undefined && escalateAfter >= expiry) {
    found.push({
      path: [...at, 'escalate', 'after'],
      message: `the escalation (after ${String(escalate.after)}) must come before the expiry (${expiryText}, ${expiryFrom})`,
    });
  }
  let previous: { ms: number; text: string } | undefined;
  asArray(approval.remind).forEach((raw, index) => {
    const ms = durationMs(raw);
    if (ms === undefined) return;
    const path = [...at, 'remind', index];
    if (previous && ms <= previous.ms) {
      found.push({
        path,
        message: `reminders must be in increasing order: ${String(raw)} is not after ${previous.text}`,
      });
    } else if (escalateAfter !== undefined && ms >= escalateAfter) {
      found.push({
        path,
        message: `the reminder at ${String(raw)} must come before the escalation (after ${String(escalate?.after)})`,
      });
    } else if (expiry !== undefined && ms >= expiry) {
      found.push({
        path,
        message: `the reminder at ${String(raw)} must come before the expiry (${expiryText}, ${expiryFrom})`,
      });
    }
    previous = { ms, text: String(raw) };
  });
  return found;
}

function dataIssues(document: Record<string, unknown>): Located[] {
  const found: Located[] = [];
  const sources = asArray(asRecord(document.data)?.sources);
  found.push(
    ...duplicateNames(
      ['data', 'sources'],
      sources.map((source, index) => ({ name: asRecord(source)?.name, at: ['data', 'sources', index, 'name'] })),
      'data source name',
    ),
  );
  const declared = new Map<string, Record<string, unknown>>();
  for (const source of sources) {
    const record = asRecord(source);
    if (typeof record?.name === 'string') declared.set(record.name, record);
  }
  asArray(document.layers).forEach((rawLayer, index) => {
    const layer = asRecord(rawLayer);
    if (!layer) return;
    const data = asRecord(layer.data);
    if (layer.seed === undefined && layer.data === undefined) {
      found.push({
        path: ['layers', index],
        message: "missing `seed` or `data`; expected where the environment's rows come from",
      });
    }
    if (layer.seed !== undefined && layer.data !== undefined) {
      found.push({
        path: ['layers', index, 'seed'],
        message: 'a layer has either `seed` (the built-in generator) or `data` (a data source), not both',
      });
    }
    if (data && typeof data.source === 'string') {
      const source = declared.get(data.source);
      if (!source) {
        const names = [...declared.keys()];
        found.push({
          path: ['layers', index, 'data', 'source'],
          message: `unknown data source ${describeValue(data.source)}; ${names.length > 0 ? `data.sources declares ${quoteList(names)}` : 'declare it under data.sources'}`,
        });
      } else if (source.classification === 'synthetic' && data.rows === undefined) {
        found.push({
          path: ['layers', index, 'data', 'rows'],
          message: `missing; expected how many rows to generate from the synthetic source "${data.source}"`,
        });
      } else if (source.classification !== 'synthetic' && data.rows !== undefined) {
        found.push({
          path: ['layers', index, 'data', 'rows'],
          message: `a ${String(source.classification)} source is copied whole; \`rows\` only goes with a synthetic source`,
        });
      } else if (source.classification !== 'synthetic' && layer.seeds !== undefined) {
        found.push({
          path: ['layers', index, 'seeds'],
          message: `many seeds generate each seed's rows: the layer's source "${data.source}" must be synthetic, not ${String(source.classification)}`,
        });
      }
    }
    const seeds = asArray(layer.seeds);
    const seen = new Map<unknown, number>();
    seeds.forEach((seed, i) => {
      if (seen.has(seed))
        found.push({
          path: ['layers', index, 'seeds', i],
          message: `duplicate seed ${describeValue(seed)} (also seeds[${seen.get(seed)}])`,
        });
      else seen.set(seed, i);
    });
    if (layer.seeds !== undefined && !data) {
      found.push({
        path: ['layers', index, 'seeds'],
        message: "many seeds need a `data:` source (a synthetic one) to generate each seed's rows from",
      });
    }
  });
  return found;
}

/**
 * The layer fields gates declare they need (`layerFields` in each gate's config): a gate whose
 * field is missing, and a field no gate of the layer uses.
 */
function gateLayerFieldIssues(layer: Record<string, unknown>, index: number): Located[] {
  const found: Located[] = [];
  const gates = asArray(layer.gates).map((g) => asRecord(g));
  const rulesOf = (type: unknown) =>
    typeof type === 'string' && Object.hasOwn(gateConfigs, type) ? (gateConfigs[type].layerFields ?? []) : [];
  gates.forEach((gate, i) => {
    for (const rule of rulesOf(gate?.type)) {
      if (layer[rule.field] === undefined)
        found.push({ path: ['layers', index, 'gates', i, 'type'], message: rule.missing });
    }
  });
  const used = new Set(gates.flatMap((gate) => rulesOf(gate?.type).map((rule) => rule.field)));
  const reported = new Set<string>();
  for (const config of Object.values(gateConfigs)) {
    for (const rule of config.layerFields ?? []) {
      if (layer[rule.field] === undefined || used.has(rule.field) || reported.has(rule.field)) continue;
      reported.add(rule.field);
      found.push({ path: ['layers', index, rule.field], message: rule.unused });
    }
  }
  return found;
}

function crossFieldIssues(document: Record<string, unknown>): ConfigIssue[] {
  const found: Located[] = [...dataIssues(document)];
  const layers = asArray(document.layers);
  found.push(
    ...duplicateNames(
      ['layers'],
      layers.map((layer, index) => ({ name: asRecord(layer)?.name, at: ['layers', index, 'name'] })),
      'layer name',
    ),
  );
  layers.forEach((rawLayer, layerIndex) => {
    const layer = asRecord(rawLayer);
    if (!layer) return;
    const gatesPath: Path = ['layers', layerIndex, 'gates'];
    const gates = asArray(layer.gates).map((rawGate, gateIndex) => {
      const gate = asRecord(rawGate);
      if (gate?.name !== undefined) return { name: gate.name, at: [...gatesPath, gateIndex, 'name'] };
      // An unnamed gate is named after its type; point at the entry and say how to fix it.
      return { name: gate?.type, at: [...gatesPath, gateIndex], hint: '; give one of them a distinct `name:`' };
    });
    found.push(...duplicateNames(gatesPath, gates, 'gate name'));
    const approval = asRecord(layer.approval);
    if (approval) {
      found.push(...approvalIssues(approval, ['layers', layerIndex, 'approval']));
      found.push(...reminderIssues(approval, document, ['layers', layerIndex, 'approval']));
    }
    found.push(...gateLayerFieldIssues(layer, layerIndex));
    const drills = asRecord(layer.drills);
    for (const scenario of Object.keys(drills ?? {})) {
      const problem = (DRILL_SCENARIOS as readonly string[]).includes(scenario)
        ? scenarioConfigProblem(
            scenario as DrillScenario,
            asRecord(layer.provider) as { type: string; server?: unknown } | undefined,
          )
        : undefined;
      if (problem) found.push({ path: ['layers', layerIndex, 'drills', scenario], message: problem });
    }
  });
  return found.map(({ path, message }) => ({ path: formatPath(path), message }));
}

function toDataSeedSpec(
  layer: LadderFile['layers'][number],
  file: LadderFile,
  baseDir: string,
): DataSeedSpec | undefined {
  if (!layer.data) return undefined;
  const declared = file.data?.sources.find((s) => s.name === layer.data!.source);
  if (!declared) return undefined; // reported by dataIssues
  const source: DataSourceSpec = {
    name: declared.name,
    classification: declared.classification,
    file: resolveUserPath(declared.file, baseDir),
  };
  if (declared.table !== undefined) source.table = declared.table;
  if (declared.labels !== undefined) source.labels = declared.labels;
  if (declared.holdout !== undefined) source.holdout = resolveUserPath(declared.holdout, baseDir);
  const spec: DataSeedSpec = {
    source,
    seed: layer.data.seed,
    realism: layer.data.realism ?? {},
    table: layer.data.table ?? declared.table ?? 'transactions',
    fidelityThreshold:
      (typeof layer.data.fidelity === 'number' ? layer.data.fidelity : layer.data.fidelity?.overall) ??
      DEFAULT_FIDELITY_THRESHOLD,
    piiAllowance: layer.data.pii?.allow ?? 0,
  };
  if (typeof layer.data.fidelity === 'object') {
    const { overall: _overall, ...byScore } = layer.data.fidelity;
    spec.fidelityThresholds = Object.fromEntries(Object.entries(byScore).filter(([, v]) => v !== undefined));
  }
  if (layer.data.rows !== undefined) spec.rows = layer.data.rows;
  if (layer.data.policy !== undefined) spec.policy = resolveUserPath(layer.data.policy, baseDir);
  if (file.data?.keyring !== undefined) spec.keyring = resolveUserPath(file.data.keyring, baseDir);
  return spec;
}

function toLadderSpec(file: LadderFile, baseDir: string): LadderSpec {
  const defaults = file.defaults ?? {};
  const layers = file.layers.map((layer): LayerSpec => {
    const approval: ApprovalPolicy =
      layer.approval === 'auto'
        ? { mode: 'auto' }
        : {
            mode: 'manual',
            required: layer.approval.required,
            approvers: layer.approval.approvers,
            expiry: layer.approval.expiry ?? defaults.approvalExpiry ?? DEFAULT_APPROVAL_EXPIRY,
            ...(layer.approval.remind ? { remind: layer.approval.remind } : {}),
            ...(layer.approval.escalate ? { escalate: layer.approval.escalate } : {}),
          };
    const data = toDataSeedSpec(layer, file, baseDir);
    const spec: LayerSpec = {
      name: layer.name,
      // A data-plane layer keeps a `seed` too: its rows and seed, for gates that read them.
      seed: layer.seed
        ? { rows: layer.seed.rows, seed: layer.seed.seed }
        : { rows: data?.rows ?? 1, seed: data?.seed ?? 0 },
      gates: layer.gates,
      approval,
      rollback: layer.rollback ?? defaults.rollback ?? DEFAULT_ROLLBACK,
    };
    if (data) spec.data = data;
    if (layer.allowSanitizedProduction !== undefined) spec.allowSanitizedProduction = layer.allowSanitizedProduction;
    if (layer.seeds !== undefined) spec.seeds = layer.seeds;
    const ttl = layer.ttl ?? defaults.ttl;
    if (ttl !== undefined) spec.ttl = ttl;
    if (layer.lease !== undefined) spec.lease = layer.lease;
    if (layer.credentialRotation !== undefined) spec.credentialRotation = layer.credentialRotation;
    if (layer.drills !== undefined) spec.drills = layer.drills as Partial<Record<DrillScenario, DrillObjective>>;
    if (layer.provider !== undefined) {
      const p = layer.provider;
      // A file: reference is relative to the ladder file, like every other path in it.
      spec.provider =
        p.type === 'postgres' && p.url.startsWith('file:')
          ? { ...p, url: `file:${resolveUserPath(p.url.slice('file:'.length), baseDir)}` }
          : p;
    }
    return spec;
  });
  return { name: file.name, layers };
}

/** Validates the text of a ladder.yaml; `file` only names it in errors. Throws ConfigError. */
export function parseLadder(text: string, file: string): LadderSpec {
  // Data source and policy paths are relative to the ladder file.
  const baseDir = path.dirname(path.resolve(file));
  const document = parseYamlMapping(text, file, 'a ladder: a mapping with `name` and `layers`');
  const result = validate(ladderSchema, document);
  const issues = [...(result.success ? [] : result.issues), ...crossFieldIssues(document)];
  if (!result.success || issues.length > 0) throw new ConfigError(file, issues.sort(byLayer));
  return toLadderSpec(result.data, baseDir);
}

/** Keeps the issues of one layer together, in layer order; top-level issues first. Stable. */
function byLayer(a: ConfigIssue, b: ConfigIssue): number {
  const layerOf = (issue: ConfigIssue) => Number(/^layers\[(\d+)\]/.exec(issue.path)?.[1] ?? -1);
  return layerOf(a) - layerOf(b);
}

/** Reads and validates a ladder.yaml. Throws ConfigError, naming the file, for anything wrong with it. */
export function loadLadder(file: string): LadderSpec {
  const text = readConfigFile(file);
  const ladder = parseLadder(text, file);
  // File paths in a gate's options (a recorded request log, a profile) are relative to the ladder
  // file: make them absolute here, so the worker (whatever its working directory) reads the right file.
  const resolve = (target: string) => path.resolve(path.dirname(file), target);
  for (const layer of ladder.layers) {
    for (const gate of layer.gates) gateConfigs[gate.type]?.resolvePaths?.(gate.options, resolve);
  }
  const document = parseYamlMapping(text, file, 'a ladder') as { allowedPaths?: unknown };
  const allowed = Array.isArray(document.allowedPaths)
    ? document.allowedPaths
        .filter((p): p is string => typeof p === 'string')
        .map((p) => resolveUserPath(p, path.dirname(path.resolve(file))))
    : [];
  const issues = [...operationalBounds(ladder), ...referencedFiles(ladder, path.dirname(path.resolve(file)), allowed)];
  if (issues.length) throw new ConfigError(file, issues);
  return ladder;
}

// --- operational bounds and referenced files (checked when a ladder file is loaded) ---------------
//
// parseLadder checks a ladder's shape; loadLadder, which every command uses, also checks that its
// durations and sizes are ones an environment can live with, and that every file it names exists
// where the ladder may read it. Tests that build ladders in memory (parseLadder) may use seconds.

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** [min, max] in ms, and the words for the message. */
const BOUNDS = {
  credentialRotation: { min: MINUTE, max: 365 * DAY, words: 'between 1m and 365d' },
  ttl: { min: MINUTE, max: 365 * DAY, words: 'between 1m and 365d' },
  approvalExpiry: { min: MINUTE, max: 90 * DAY, words: 'between 1m and 90d' },
  approvalReminder: { min: MINUTE, max: 90 * DAY, words: 'between 1m and 90d' },
} as const;

function outOfBounds(value: string | undefined, bound: { min: number; max: number }): boolean {
  if (value === undefined) return false;
  const ms = parseDuration(value);
  return ms === undefined || ms < bound.min || ms > bound.max;
}

function operationalBounds(ladder: LadderSpec): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  ladder.layers.forEach((layer, i) => {
    const at = (field: string) => formatPath(['layers', i, ...field.split('.')]);
    if (outOfBounds(layer.credentialRotation, BOUNDS.credentialRotation))
      issues.push({
        path: at('credentialRotation'),
        message: `expected ${BOUNDS.credentialRotation.words}, got "${layer.credentialRotation}"`,
      });
    if (outOfBounds(layer.ttl, BOUNDS.ttl))
      issues.push({ path: at('ttl'), message: `expected ${BOUNDS.ttl.words}, got "${layer.ttl}"` });
    if (layer.approval.mode === 'manual' && outOfBounds(layer.approval.expiry, BOUNDS.approvalExpiry))
      issues.push({
        path: at('approval.expiry'),
        message: `expected ${BOUNDS.approvalExpiry.words} (or defaults.approvalExpiry), got "${layer.approval.expiry}"`,
      });
    if (layer.approval.mode === 'manual') {
      layer.approval.remind?.forEach((remind, r) => {
        if (outOfBounds(remind, BOUNDS.approvalReminder))
          issues.push({
            path: formatPath(['layers', i, 'approval', 'remind', r]),
            message: `expected ${BOUNDS.approvalReminder.words}, got "${remind}"`,
          });
      });
      const after = layer.approval.escalate?.after;
      if (outOfBounds(after, BOUNDS.approvalReminder))
        issues.push({
          path: at('approval.escalate.after'),
          message: `expected ${BOUNDS.approvalReminder.words}, got "${after}"`,
        });
    }
  });
  return issues;
}

function inside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Every file the ladder names must exist, inside the ladder's folder or an allowed one. */
function referencedFiles(ladder: LadderSpec, baseDir: string, allowed: string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  const check = (where: string, file: unknown) => {
    if (typeof file !== 'string' || seen.has(`${where}\0${file}`)) return;
    seen.add(`${where}\0${file}`);
    const real = (() => {
      try {
        return fs.realpathSync(file);
      } catch {
        return undefined;
      }
    })();
    if (!real) {
      issues.push({ path: where, message: `file not found: ${file}` });
      return;
    }
    const roots = [baseDir, ...allowed].map((d) => {
      try {
        return fs.realpathSync(d);
      } catch {
        return d;
      }
    });
    if (!roots.some((r) => inside(real, r)))
      issues.push({
        path: where,
        message: `${file} is outside the ladder's folder ${baseDir}; list its folder in \`allowedPaths\` to allow it`,
      });
  };
  ladder.layers.forEach((layer, i) => {
    const at = (...p: (string | number)[]) => formatPath(['layers', i, ...p]);
    if (layer.data) {
      check(at('data', 'source'), layer.data.source.file);
      if (layer.data.source.holdout) check(at('data', 'source', 'holdout'), layer.data.source.holdout);
      check(at('data', 'policy'), layer.data.policy);
    }
    layer.gates.forEach((gate, g) => {
      if (gate.type === 'expectations') check(at('gates', g, 'options', 'profile'), gate.options.profile);
      const requests = (gate.options.load as { requests?: { source?: string; file?: string } } | undefined)?.requests;
      if (requests?.source === 'replay') check(at('gates', g, 'options', 'load', 'requests', 'file'), requests.file);
    });
  });
  return issues;
}

/**
 * The layers from `from` to `to`, both inclusive and both optional (first and last layer by
 * default), as for `strata promote --from … --to …`. Throws ConfigError on the command line.
 */
export function layerRange(ladder: LadderSpec, from?: string, to?: string): LayerSpec[] {
  const names = ladder.layers.map((layer) => layer.name);
  const issues: ConfigIssue[] = [];
  const indexOf = (flag: string, name: string | undefined, fallback: number): number => {
    if (name === undefined) return fallback;
    const index = names.indexOf(name);
    if (index < 0) {
      issues.push({
        path: flag,
        message: `unknown layer ${describeValue(name)}; ladder "${ladder.name}" has ${quoteList(names)}`,
      });
    }
    return index;
  };
  const start = indexOf('--from', from, 0);
  const end = indexOf('--to', to, names.length - 1);
  if (issues.length === 0 && start > end) {
    issues.push({
      path: '--to',
      message: `layer "${to}" comes before --from layer "${from}"; the ladder's order is ${names.join(' → ')}`,
    });
  }
  if (issues.length > 0) throw new ConfigError(COMMAND_LINE, issues);
  return ladder.layers.slice(start, end + 1);
}

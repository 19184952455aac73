// strata.yaml's `notifications:` — the webhooks that hear about approvals (wanted, reminders,
// escalations, expired). Read by the worker's notify activity at each delivery, so a change takes effect
// without a restart. Secrets (the signing secret, a Slack URL, which is itself a credential) come
// from an environment variable or a file, never from the file in clear.

import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseYamlMapping, readConfigFile } from '../config/yaml';
import { ConfigError, expectedGot, validate } from '../validation/errors';

/** The events a webhook can subscribe to. */
export const NOTIFICATION_EVENTS = [
  'approval.requested',
  'approval.reminder',
  'approval.escalated',
  'approval.expired',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** Where a secret comes from: `{ env: NAME }` or `{ file: PATH }` (relative to strata.yaml). */
export type SecretSource = { env: string } | { file: string };

const secretSourceSchema = z.union([
  z.strictObject({
    env: z
      .string()
      .trim()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'),
  }),
  z.strictObject({ file: z.string().trim().min(1) }),
]);

const CLEAR_SECRET =
  'a secret is never written in clear: give { env: VARIABLE } or { file: PATH } (a file readable by the worker only)';

const secretSchema = z.unknown().transform((value, ctx): SecretSource => {
  if (typeof value === 'string') {
    ctx.addIssue({ code: 'custom', message: CLEAR_SECRET });
    return z.NEVER;
  }
  const parsed = secretSourceSchema.safeParse(value);
  if (!parsed.success) {
    ctx.addIssue({ code: 'custom', message: expectedGot('{ env: VARIABLE } or { file: PATH }', value) });
    return z.NEVER;
  }
  return parsed.data;
});

const urlText = z.url({ protocol: /^https?$/, error: (issue) => expectedGot('an http(s) URL', issue.input) });

/** A URL in clear, or (a Slack incoming-webhook URL is a credential) from an env var or a file. */
const urlSchema = z.union([urlText, secretSourceSchema], {
  error: (issue) => expectedGot('an http(s) URL, { env: VARIABLE } or { file: PATH }', issue.input),
});

const webhookSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z][a-z0-9-]*$/, {
      error: (issue) => expectedGot("a name of lowercase letters, digits and '-'", issue.input),
    }),
    /** `slack`: {"text": …} to an incoming webhook; `signed`: the JSON notice, HMAC-SHA256 signed. */
    format: z.enum(['slack', 'signed'], {
      error: (issue) => expectedGot('"slack" or "signed"', issue.input),
    }),
    url: urlSchema,
    /** The HMAC key of a `signed` webhook. */
    secret: secretSchema.optional(),
    /** Only these layers (absent: every layer). */
    layers: z.array(z.string().trim().min(1)).min(1).optional(),
    /** Only these events (absent: all). */
    events: z.array(z.enum(NOTIFICATION_EVENTS)).min(1).optional(),
    /** Per request, in seconds. @default 10 */
    timeoutSeconds: z.number().positive().max(60).default(10),
  })
  .superRefine((hook, ctx) => {
    if (hook.format === 'signed' && !hook.secret)
      ctx.addIssue({ code: 'custom', path: ['secret'], message: `a signed webhook needs a secret; ${CLEAR_SECRET}` });
    if (hook.format === 'slack' && hook.secret)
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message: 'a slack webhook is not signed (its URL is the credential): remove `secret`, or use format: signed',
      });
  });

const notificationsSchema = z.strictObject({
  /** The base URL of `strata serve` (the web inbox); notifications link to it. */
  link: urlText.optional(),
  webhooks: z.array(webhookSchema).default([]),
});

const strataFileSchema = z
  .object({ notifications: notificationsSchema.optional() })
  // Other sections of strata.yaml belong to other parts of Strata.
  .passthrough();

export type WebhookConfig = z.output<typeof webhookSchema>;
export interface NotificationsConfig {
  /** The file the settings came from (secrets in files are relative to it). */
  file: string | null;
  link?: string;
  webhooks: WebhookConfig[];
}

/** No strata.yaml (or no `notifications:`): nothing is sent, and the audit says so. */
export const NO_NOTIFICATIONS: NotificationsConfig = { file: null, webhooks: [] };

/** Validates the text of a strata.yaml's `notifications:`; `file` names it in errors. Throws ConfigError. */
export function parseNotifications(text: string, file: string): NotificationsConfig {
  const document = parseYamlMapping(text, file, 'a mapping (strata.yaml) with `notifications`');
  const result = validate(strataFileSchema, document);
  if (!result.success) throw new ConfigError(file, result.issues);
  const n = result.data.notifications;
  if (!n) return { ...NO_NOTIFICATIONS, file };
  const names = new Map<string, number>();
  const issues = n.webhooks.flatMap((hook, i) => {
    const first = names.get(hook.name);
    if (first === undefined) {
      names.set(hook.name, i);
      return [];
    }
    return [
      {
        path: `notifications.webhooks[${i}].name`,
        message: `duplicate webhook name "${hook.name}" (also webhooks[${first}])`,
      },
    ];
  });
  if (issues.length) throw new ConfigError(file, issues);
  return { file, webhooks: n.webhooks, ...(n.link ? { link: n.link.replace(/\/+$/, '') } : {}) };
}

/**
 * The strata.yaml the worker reads: `STRATA_CONFIG`, else `$STRATA_HOME/strata.yaml`. A missing
 * default file means no notifications; a missing STRATA_CONFIG file is an error naming it.
 */
export function notificationsFile(
  home: string,
  env: NodeJS.ProcessEnv = process.env,
): { file: string; explicit: boolean } {
  const explicit = env.STRATA_CONFIG?.trim();
  return explicit
    ? { file: path.resolve(explicit), explicit: true }
    : { file: path.join(home, 'strata.yaml'), explicit: false };
}

export function loadNotifications(home: string, env: NodeJS.ProcessEnv = process.env): NotificationsConfig {
  const { file, explicit } = notificationsFile(home, env);
  if (!explicit && !fs.existsSync(file)) return NO_NOTIFICATIONS;
  return parseNotifications(readConfigFile(file), file);
}

/** The webhooks that hear about `event` on `layer`. */
export function webhooksFor(config: NotificationsConfig, layer: string, event: NotificationEvent): WebhookConfig[] {
  return config.webhooks.filter(
    (hook) => (!hook.layers || hook.layers.includes(layer)) && (!hook.events || hook.events.includes(event)),
  );
}

/**
 * A secret's value, read when it is used. Throws an Error naming the variable or the file (never
 * the value) when it is missing or empty.
 */
export function readSecret(
  source: SecretSource,
  configFile: string | null,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if ('env' in source) {
    const value = env[source.env];
    if (!value) throw new Error(`environment variable ${source.env} is not set (or empty)`);
    return value;
  }
  const file = path.resolve(configFile ? path.dirname(configFile) : process.cwd(), source.file);
  let value: string;
  try {
    value = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(
      `cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (!value) throw new Error(`secret file ${file} is empty`);
  return value;
}

/** A webhook's URL, from the file or its secret source. */
export function webhookUrl(
  hook: WebhookConfig,
  configFile: string | null,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (typeof hook.url === 'string') return hook.url;
  const value = readSecret(hook.url, configFile, env);
  const parsed = urlText.safeParse(value);
  if (!parsed.success)
    throw new Error(`the URL of webhook ${hook.name} (from ${describeSource(hook.url)}) is not an http(s) URL`);
  return parsed.data;
}

export function describeSource(source: SecretSource): string {
  return 'env' in source ? `env ${source.env}` : `file ${source.file}`;
}

// Commands typed against their options. Each command group declares one interface holding the
// options of each of its commands (per-field JSDoc, with @default); a command's option table is
// checked against its member, so a flag cannot drift from what the action reads. The flag is the
// field's name in kebab case (`uiPort` is `--ui-port`). Actions return their exit code.

import type { Command } from 'commander';
import { EXIT_OK, type ExitCode, UsageError } from './errors';

/**
 * One row of an option table, checked against the options field it fills. A switch (a boolean)
 * takes no argument; any other option names its argument (`<file>`). A field the action may rely
 * on (not optional) must be required, have a default, be a switch that `--no-…` turns off, or be
 * repeatable.
 */
export type OptionSpec<Value> = { description: string } & ArgumentSpec<Value> & PresenceSpec<Value>;

type ArgumentSpec<Value> = [NonNullable<Value>] extends [boolean] ? { argument?: never } : { argument: string };

type PresenceSpec<Value> = undefined extends Value
  ? { required?: never; default?: never; negatable?: never; repeatable?: never }
  : [Value] extends [boolean]
    ? { negatable: true }
    : [Value] extends [string[]]
      ? { repeatable: true }
      : { required: true; default?: never } | { default: string; required?: never };

/** A command's option table: a row for every field of its options type, and for nothing else. */
export type OptionTable<Options> = { [Key in keyof Options]-?: OptionSpec<Options[Key]> };

/** The positional arguments a usage such as `revoke <fileOrDigest>` or `teardown [layers...]` declares. */
type ArgumentsOf<Usage extends string> = Usage extends `${string} ${infer Rest}` ? ParseArguments<Rest> : [];
type ParseArguments<Text extends string> = Text extends `${infer Head} ${infer Tail}`
  ? [...ParseArgument<Head>, ...ParseArguments<Tail>]
  : ParseArgument<Text>;
type ParseArgument<Text extends string> = Text extends `<${string}...>` | `[${string}...]`
  ? [string[]]
  : Text extends `<${string}>`
    ? [string]
    : Text extends `[${string}]`
      ? [string | undefined]
      : [];

/** What every action returns: 0 ok, 1 the operation failed or was refused, 2 bad usage or config. */
export type Action<Args extends unknown[], Options> = (...params: [...Args, Options]) => ExitCode | Promise<ExitCode>;

const exitCodes = new WeakMap<Command, ExitCode>();

/** The exit code of the action that ran under `program` (0 when none ran, e.g. `--help`). */
export function exitCodeOf(program: Command): ExitCode {
  return exitCodes.get(program) ?? EXIT_OK;
}

function root(command: Command): Command {
  let top = command;
  while (top.parent) top = top.parent;
  return top;
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A command being defined: its options, then its action. */
export class StrataCommand<Args extends unknown[], Options> {
  constructor(readonly command: Command) {}

  /** Adds the options, in the table's order (the order `--help` lists them in). */
  options<Declared extends object>(table: OptionTable<Declared>): StrataCommand<Args, Declared> {
    for (const [key, row] of Object.entries(table) as Array<[string, OptionSpec<unknown>]>) {
      const spec = row as {
        description: string;
        argument?: string;
        required?: boolean;
        default?: string;
        negatable?: boolean;
        repeatable?: boolean;
      };
      const flag = `--${spec.negatable ? 'no-' : ''}${kebab(key)}${spec.argument ? ` ${spec.argument}` : ''}`;
      if (spec.required) this.command.requiredOption(flag, spec.description);
      else if (spec.repeatable) this.command.option(flag, spec.description, collect, []);
      else this.command.option(flag, spec.description, spec.default);
    }
    return new StrataCommand(this.command);
  }

  /** The action: the positional arguments and the options in, the exit code out. */
  action(run: Action<Args, Options>): Command {
    return this.command.action(async (...params: unknown[]) => {
      // Commander passes the arguments, the options and, last, the command itself.
      const code = await run(...(params.slice(0, -1) as [...Args, Options]));
      exitCodes.set(root(this.command), code);
    });
  }
}

/** Defines `usage` (a name and its positional arguments) under `parent`. */
export function command<Usage extends string>(
  parent: Command,
  usage: Usage,
  description: string,
): StrataCommand<ArgumentsOf<Usage>, Record<never, never>> {
  return new StrataCommand(parent.command(usage).description(description));
}

/** `--json`, which most commands take. */
export interface JsonOption {
  /** Print JSON instead of text. @default false */
  json?: boolean;
}

/** Who acts and why, for the commands whose every use is recorded for auditors. */
export interface Attribution {
  /** The acting identity (compared trimmed and case-insensitively). */
  as: string;
  /** Why; recorded with the action. */
  reason: string;
}

/**
 * Who acts and why, for commands that also run in API mode: `--as` names the actor in local mode
 * only; in API mode the server acts as the verified identity behind the token.
 */
export interface LocalAttribution {
  /** The acting identity in local mode (required there; ignored in API mode). */
  as?: string;
  /** Why; recorded with the action. */
  reason: string;
}

/** The actor of a local-mode command: `--as`, which local mode requires. */
export function localActor(as: string | undefined): string {
  if (as === undefined || !as.trim()) {
    throw new UsageError('--as: required in local mode (with STRATA_API set, the server knows who you are)');
  }
  return as;
}

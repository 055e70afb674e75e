import { parseArgs } from 'node:util';
import { UsageError } from './command';

/*
 * Options are read with node's parseArgs, leniently, and then checked here token by token, so
 * each mistake gets a short message of ours (node's strict mode adds a hint about positional
 * arguments that only confuses an operator).
 */

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** A string option that may be given several times (`--exclude a --exclude b`). */
  multiple?: boolean;
}
export type OptionSpecs = Record<string, OptionSpec>;

export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : O[K] extends { multiple: true } ? string[] : string;
};

export interface CommandLine<O extends OptionSpecs> {
  values: OptionValues<O>;
  positionals: string[];
}

const HELP_FLAGS = new Set(['--help', '-h']);

/** `--help` or `-h` anywhere before `--`: the operator asks, whatever else the line says. */
export function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => HELP_FLAGS.has(arg));
}

export function parseCommandLine<O extends OptionSpecs>(args: string[], options: O): CommandLine<O> {
  // The types tell parseArgs which options take the next argument as their value.
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string | string[] | boolean> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (!spec) throw new UsageError(`unknown option ${token.rawName}`);
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    // `--server --http` is a forgotten value, not a server named --http.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) throw new UsageError(`${token.rawName} needs a value`);
    values[token.name] = spec.multiple ? [...((values[token.name] as string[] | undefined) ?? []), token.value] : token.value;
  }
  return { values: values as OptionValues<O>, positionals };
}

/** Exactly the positionals a command takes, named in its usage (`HOST`, `TOKEN NAME`). */
export function exactly(positionals: string[], names: string[], hint = ''): string[] {
  if (positionals.length === names.length) return positionals;
  const got = positionals.map((positional) => JSON.stringify(positional)).join(' ');
  const more = hint ? ` (${hint})` : '';
  if (positionals.length < names.length) throw new UsageError(`give ${names.slice(positionals.length).join(' ')}${more}`);
  throw new UsageError(`${names.length === 0 ? 'takes no arguments' : `takes only ${names.join(' ')}`} (got ${got})${more}`);
}

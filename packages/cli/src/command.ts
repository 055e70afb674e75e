/** What a command produced; the process wrapper writes it out, tests read it directly. */
export interface CommandOutput {
  stdout: Buffer | string;
  stderr: string;
  code: number;
}

export interface CommandInput {
  args: string[];
  env: NodeJS.ProcessEnv;
  readStdin: () => Promise<Buffer>;
  /** Where the checkout's signing key file is looked for (default: this checkout; null: nowhere). */
  checkoutRoot?: string | null;
}

/** One thing the operator runs, such as `mailbeacon servers add`. */
export interface Command {
  /** The words after `mailbeacon`: `servers add`. */
  name: string;
  /** What follows the name in the usage line: `NAME`. */
  synopsis: string;
  /** What it does, then its arguments and options: the rest of `--help`. */
  help: string;
  /** Gets the arguments after the name; `--help` never reaches it. */
  run(input: CommandInput): Promise<CommandOutput>;
}

/** A mistake on the command line: printed with the command's usage, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A mistake the operator fixes by naming something that exists (or does not yet): exit status 1. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

export const usageLine = (command: Pick<Command, 'name' | 'synopsis'>): string => `mailbeacon ${command.name}${command.synopsis ? ` ${command.synopsis}` : ''}`;

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

/** A mistake on the command line: printed with the usage, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

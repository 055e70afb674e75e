export { runCli, main, USAGE } from './main';
export type { CommandInput, CommandOutput } from './command';

/**
 * What every `sgus` sub-command file (`src/cli/<name>-command.ts`) exports as default. Its name and
 * one-line summary live in main.ts's command list alone, so `sgus --help` loads no command module.
 */
export interface CliCommand {
  /** Full `sgus <name> --help` text: usage, options with defaults, examples. */
  help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

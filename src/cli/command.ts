/** What every `sgus` sub-command file (`src/cli/<name>-command.ts`) exports as default. */
export interface CliCommand {
  name: string;
  /** One line for `sgus --help`. */
  summary: string;
  /** Full `sgus <name> --help` text: usage, options with defaults, examples. */
  help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

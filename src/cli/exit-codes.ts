/** Exit codes of the streaming commands (replay, live), one place, as their --help states them. */
export const ExitCode = {
  /** Every frame done, every output complete. */
  Ok: 0,
  /** The run failed (source failure, stall) or an output is incomplete (its writer died). */
  Failure: 1,
  /** Bad command line. */
  Usage: 2,
  /** The input was incomplete: a truncated or damaged recording. Every frame it held was done. */
  InputIncomplete: 3,
  /** Stopped by Ctrl-C / SIGTERM: the outputs are complete up to the last frame. */
  Interrupted: 130,
} as const;

/** The exit-code lines of --help. */
export const EXIT_CODES_HELP = `Exit codes:
  0    done, every output complete
  1    failed (source failure, stall), or an output is incomplete (each named in one line)
  2    bad command line
  3    the input was incomplete: truncated or damaged (every frame it held was done, outputs complete)
  130  interrupted (Ctrl-C): outputs complete up to the last frame`;

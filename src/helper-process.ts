/**
 * Starting the long-lived helper processes (FFmpeg sources, encoders, decoders) outside the
 * terminal's process group. Ctrl-C in a terminal sends SIGINT to the whole foreground group: FFmpeg
 * would get it at the same time as sgus, stop on its own, and print 'Broken pipe' / 'Error writing
 * trailer' while its encoder's file is cut short, before sgus could stop it in order (sources first,
 * then the encoders finish their files). In their own group only sgus gets the signal and ends its
 * helpers itself; they still end with sgus: their pipes close when it exits, and the sources kill
 * theirs on exit.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';

/** `spawn`, in a process group of its own (not `unref`'d: sgus still waits for it). */
export function spawnHelper(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  return spawn(command, args, { ...options, detached: true });
}

/**
 * Stops a child: `signal`, then SIGKILL once `graceMs` have passed without an exit; resolves on its
 * exit. A child that has already exited resolves at once. Default SIGTERM, 10 s.
 */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

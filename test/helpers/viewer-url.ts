/**
 * The viewer URL a `sgus … --serve` child prints on stdout ('viewer: URL'), for end-to-end tests
 * that open it; the child's exit or `timeoutMs` without it rejects, with its recent stderr.
 */
import type { ChildProcess } from 'node:child_process';

export function viewerUrlOf(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no viewer URL within ${timeoutMs / 1000} s: ${stderr()}`)), timeoutMs);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /viewer: (\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sgus exited ${code}: ${stderr()}`));
    });
  });
}

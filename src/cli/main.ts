#!/usr/bin/env node
/**
 * `sgus`: the command line. Each sub-command lives in `src/cli/<name>-command.ts` and is loaded
 * only when used, so that `sgus segment` does not pay for the streaming or server modules.
 */
import { describeError, isSgusError } from '../errors.js';
import type { CliCommand } from './command.js';

const COMMANDS: ReadonlyArray<[name: string, summary: string]> = [
  ['segment', 'segment PNG, JPEG or DICOM images or folders; writes the four DeepSGUS outputs per image'],
  ['eval', 'test mode: IoU and Dice of a model against clinician masks, JSON + Markdown report'],
  ['models', 'list the shipped models with their measured accuracy and speed'],
  ['replay', 'video mode: segment a recorded exam (file or URL), optional outputs and live viewer'],
  ['live', 'stream mode: segment a capture device or network stream live'],
  ['serve', 'run stream presets from streams/ with the web viewer (npm start)'],
  ['bench', 'measure model and pipeline speed; writes bench/results.json and a report'],
  ['import-frozen', 'import a TensorFlow 1.x frozen graph (DeepSGUS frozen_graph.pb) as a model'],
  ['pacs', 'find exams on a PACS (DICOMweb) and segment them, results stored back into their study'],
  ['listen', 'DICOM node: receive pushed ultrasound images (C-STORE), segment them, forward results to the PACS'],
];

function usage(): string {
  const width = Math.max(...COMMANDS.map(([n]) => n.length));
  return `sgus - live AI segmentation of salivary gland ultrasound (SGUS)

Usage: sgus <command> [options]

Commands:
${COMMANDS.map(([n, s]) => `  ${n.padEnd(width)}  ${s}`).join('\n')}

Run 'sgus <command> --help' for the options of a command.
Models: see 'sgus models'. Docs: README.md.`;
}

async function loadCommand(name: string): Promise<CliCommand | undefined> {
  if (!COMMANDS.some(([n]) => n === name)) return undefined;
  // A variable specifier: commands are separate files added feature by feature.
  const spec = `./${name}-command.js`;
  try {
    const mod = (await import(spec)) as { default: CliCommand };
    return mod.default;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(`${name}-command`)) return undefined;
    throw err;
  }
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const cmd = await loadCommand(name);
  if (cmd === undefined) {
    process.stderr.write(`sgus: unknown command '${name}'. Run 'sgus --help'.\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${cmd.help.trim()}\n`);
    return 0;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // One line, what and where; a stack only when asked for.
    process.stderr.write(`sgus: ${isSgusError(err) ? err.message : describeError(err)}\n`);
    if (process.env.SGUS_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    process.exitCode = isSgusError(err, 'invalid-argument') ? 2 : 1;
  },
);

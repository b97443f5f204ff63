/** `sgus models`: the shipped models, their measured accuracy and speed; `--measure` re-measures speed. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { listModels, MODELS_DIR } from '../segmenter/model-registry.js';
import { machineDescription, measureSpeed } from '../segmenter/model-speed.js';
import { defaultThreads } from '../engine/onnx-engine.js';
import { loadScoreCard } from '../score/score-card.js';
import { replaceMarkedBlock, SCORE_DOCS_END, SCORE_DOCS_START, scoreMarkdown } from '../score/score-docs.js';
import { SCORE_MODEL_NAME } from '../score/scorer.js';
import { parse } from './args.js';
import type { CliCommand } from './command.js';

const help = `Usage: sgus models [options]

Lists the models under models/ with architecture, size, measured accuracy (IoU/Dice by honest
validation, from training) and speed (ms per frame, onnxruntime CPU). The default model is marked *.

Options:
      --measure           measure speed now (batch 1 and 8) and write it into each card's "speed"
      --only NAME         with --measure: only this model
      --json              print the cards as JSON
      --markdown          print the table as Markdown
      --update-docs FILE  write the Markdown table between the sgus-models markers of FILE (e.g. README.md),
                          and the score model's figures (models/sgus-score/card.json) between its
                          sgus-score markers where FILE has them
      --dir DIR           models folder (default: the package's models/)`;

const fmt = (x: unknown, d = 3): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');

export const MODELS_START = '<!-- sgus-models:start -->';
export const MODELS_END = '<!-- sgus-models:end -->';

type Card = Awaited<ReturnType<typeof listModels>>['models'][number]['card'];

interface Lodo {
  iou?: number;
  n?: number;
}

/** The headline figure: the held-out device on which the model did worst (leave-one-device-out). */
export function worstHeldOutDevice(c: Card): { device: string; iou: number } | undefined {
  const lodo = (c.validation?.leaveOneDeviceOut ?? {}) as Record<string, Lodo>;
  let worst: { device: string; iou: number } | undefined;
  for (const [device, r] of Object.entries(lodo)) if (typeof r.iou === 'number' && (worst === undefined || r.iou < worst.iou)) worst = { device, iou: r.iou };
  return worst;
}

/** Cross-validation IoU and Dice, when the card has cross-validation folds (else its `iou` is another mean). */
function crossValidation(c: Card): { iou: unknown; dice: unknown } | undefined {
  const v = c.validation ?? {};
  return Array.isArray(v.folds) && v.folds.length > 0 ? { iou: v.iou, dice: v.dice } : undefined;
}

/** Frames and devices the held-out figures were measured on. */
function validatedOn(c: Card): string {
  const v = c.validation ?? {};
  const lodo = (v.leaveOneDeviceOut ?? {}) as Record<string, Lodo>;
  const cvFrames = Array.isArray(v.perImage) ? v.perImage.length : 0;
  const lodoFrames = Object.values(lodo).reduce((a, r) => a + (r.n ?? 0), 0);
  const frames = Math.max(cvFrames, lodoFrames);
  const devices = Object.keys(lodo).length || Object.keys((v.perDevice ?? {}) as object).length;
  return frames > 0 ? `${frames} frames, ${devices} devices` : '–';
}

/** The models table of the README, from the cards (figures written by training and --measure). */
export function modelsMarkdown(cards: readonly Card[]): string {
  const head = ['model', 'architecture', 'params', 'GFLOP/frame', 'IoU worst held-out device', 'IoU per held-out device', 'CV IoU (Dice)', 'validated on', 'ms/frame b1', 'ms/frame b8'];
  // Models validated on more scanners first: their figures are the comparable ones.
  const devicesOf = (c: Card): number => Object.keys((c.validation?.leaveOneDeviceOut ?? {}) as object).length;
  const ordered = [...cards].sort((a, b) => devicesOf(b) - devicesOf(a) || a.name.localeCompare(b.name));
  const rows = ordered.map((c) => {
    const v = c.validation ?? {};
    const lodo = (v.leaveOneDeviceOut ?? {}) as Record<string, Lodo>;
    const worst = worstHeldOutDevice(c);
    const cv = crossValidation(c);
    return [
      `${c.default === true ? '**' : ''}${c.name}${c.default === true ? '** (default)' : ''}`,
      `${c.architecture}${c.variant !== undefined ? `, ${c.variant}` : ''}`,
      c.parameters !== undefined ? `${(c.parameters / 1e6).toFixed(2)} M` : '–',
      c.flopsPerFrame !== undefined ? (c.flopsPerFrame / 1e9).toFixed(2) : '–',
      worst !== undefined ? `**${fmt(worst.iou)}** (${worst.device})` : '–',
      Object.entries(lodo).map(([d, r]) => `${d} ${fmt(r.iou)}`).join(', ') || '–',
      cv !== undefined ? `${fmt(cv.iou)} (${fmt(cv.dice)})` : '–',
      validatedOn(c),
      fmt(c.speed?.msPerFrameBatch1, 1),
      fmt(c.speed?.msPerFrameBatch8, 1),
    ];
  });
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const command: CliCommand = {
  help,
  async run(args) {
    const { values } = parse(args, { measure: { type: 'boolean' }, only: { type: 'string' }, json: { type: 'boolean' }, markdown: { type: 'boolean' }, 'update-docs': { type: 'string' }, dir: { type: 'string' } }, false);
    const dir = (values.dir as string | undefined) ?? MODELS_DIR;
    const { models, problems } = await listModels(dir);
    for (const p of problems) process.stderr.write(`sgus models: ${p}\n`);
    if (values.measure === true) {
      const threads = defaultThreads();
      for (const m of models) {
        if (values.only !== undefined && m.card.name !== values.only) continue;
        process.stderr.write(`measuring ${m.card.name} ...\n`);
        const [b1, b8] = await measureSpeed(m, [1, 8], { threads });
        const speed = {
          engine: 'onnxruntime-cpu',
          threads,
          msPerFrameBatch1: Number(b1!.msPerFrame.toFixed(2)),
          msPerFrameBatch8: Number(b8!.msPerFrame.toFixed(2)),
          framesPerSecondBatch1: Number(b1!.framesPerSecond.toFixed(1)),
          framesPerSecondBatch8: Number(b8!.framesPerSecond.toFixed(1)),
          gflopsPerSecondBatch8: m.card.flopsPerFrame !== undefined ? Number(((m.card.flopsPerFrame * b8!.framesPerSecond) / 1e9).toFixed(1)) : undefined,
          machine: machineDescription(),
          measuredBy: 'sgus models --measure',
          date: new Date().toISOString(),
        };
        // Rewrite the card as it is on disk, changing only `speed`.
        const raw = JSON.parse(await readFile(m.cardPath, 'utf8')) as Record<string, unknown>;
        raw.speed = speed;
        await writeFile(m.cardPath, `${JSON.stringify(raw, null, 2)}\n`);
        m.card.speed = speed;
      }
    }
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(models.map((m) => m.card), null, 2)}\n`);
      return problems.length > 0 ? 1 : 0;
    }
    if (models.length === 0) {
      process.stdout.write(`no models in ${dir}\n`);
      return 1;
    }
    if (values.markdown === true || values['update-docs'] !== undefined) {
      const md = modelsMarkdown(models.map((m) => m.card));
      const target = values['update-docs'] as string | undefined;
      if (target === undefined) {
        process.stdout.write(`${md}\n`);
        return 0;
      }
      const text = await readFile(target, 'utf8');
      const a = text.indexOf(MODELS_START);
      const b = text.indexOf(MODELS_END);
      if (a < 0 || b < a) {
        process.stderr.write(`sgus models: ${target}: no '${MODELS_START}' ... '${MODELS_END}' markers\n`);
        return 1;
      }
      let next = `${text.slice(0, a + MODELS_START.length)}\n${md}\n${text.slice(b)}`;
      // The score's figures, from its own card (the registry lists segmenters only).
      if (next.includes(SCORE_DOCS_START)) {
        const { card } = await loadScoreCard(path.join(dir, SCORE_MODEL_NAME));
        const withScore = replaceMarkedBlock(next, SCORE_DOCS_START, SCORE_DOCS_END, scoreMarkdown(card));
        if (withScore === undefined) {
          process.stderr.write(`sgus models: ${target}: '${SCORE_DOCS_START}' without '${SCORE_DOCS_END}' after it\n`);
          return 1;
        }
        next = withScore;
      }
      await writeFile(target, next);
      process.stderr.write(`sgus models: table${next.includes(SCORE_DOCS_START) ? ' and score figures' : ''} written into ${target}\n`);
      return 0;
    }
    const rows = models.map((m) => {
      const c = m.card;
      const v = c.validation ?? {};
      const worst = worstHeldOutDevice(c);
      return [
        `${c.default === true ? '*' : ' '} ${c.name}`,
        c.architecture,
        c.parameters !== undefined ? `${(c.parameters / 1e6).toFixed(2)} M` : '–',
        c.flopsPerFrame !== undefined ? `${(c.flopsPerFrame / 1e9).toFixed(2)}` : '–',
        worst !== undefined ? `${fmt(worst.iou)} ${worst.device}` : '–',
        fmt(crossValidation(c)?.iou),
        fmt(crossValidation(c)?.dice),
        validatedOn(c),
        fmt(c.speed?.msPerFrameBatch1, 1),
        fmt(c.speed?.msPerFrameBatch8, 1),
      ];
    });
    const head = ['  model', 'architecture', 'params', 'GFLOP', 'IoU worst device', 'CV IoU', 'CV Dice', 'validated on', 'ms b1', 'ms b8'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]): string => r.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
    process.stdout.write(`${line(head)}\n${rows.map(line).join('\n')}\n`);
    process.stdout.write('* default model. IoU worst device: the held-out scanner it did worst on (leave one device out), its headline figure; CV: cross-validation. All on clinician masks the model never trained on (see each card); figures validated on 12 frames of 2 devices predate the 18-frame data and are not comparable. ms: onnxruntime CPU per frame at batch 1 / 8.\n');
    return problems.length > 0 ? 1 : 0;
  },
};

export default command;

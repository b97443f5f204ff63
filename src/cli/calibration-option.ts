/**
 * `--mm-per-px X[,Y]` and a preset's `settings.mmPerPx`: the pixel size of a video source, given by
 * the user (read off the scanner's depth scale), so the viewer shows the gland in cm² and mm. Never
 * guessed: without it the figures stay in pixels, labelled so.
 */
import { ErrorCode, SgusError } from '../errors.js';
import type { WireCalibration } from '../shared/protocol.js';
import type { OptionSpec } from './args.js';

export const CALIBRATION_OPTIONS: OptionSpec = {
  'mm-per-px': { type: 'string' },
  'no-ruler': { type: 'boolean' },
};

export const CALIBRATION_OPTIONS_HELP = `Calibration options:
      --mm-per-px X[,Y]   millimetres per source pixel (X horizontally, Y vertically; one value: both),
                          e.g. from the scanner's depth scale: the viewer shows the gland area in cm²,
                          perimeter, length and depth in mm, "from --mm-per-px" (default: none, the
                          figures stay in pixels, labelled uncalibrated; a scale is never guessed)
      --no-ruler          do not read the scale off the scanner's depth ruler. By default a recorded
                          file without --mm-per-px is scaled by its ruler when one is clearly there
                          (centimetre labels at equal spacing beside the image, with their ticks;
                          read on the frame at 1 s, said as the figures' source); live sources need
                          --mm-per-px or a preset's mmPerPx`;

/** Largest plausible pixel: 10 mm (a 1 mm scale is already coarse for ultrasound); catches cm given as mm. */
const MAX_MM_PER_PX = 10;

function parseScale(text: string, what: string): { mmPerPxX: number; mmPerPxY: number } {
  const parts = text.split(',').map((p) => p.trim());
  const nums = parts.map(Number);
  if (parts.length < 1 || parts.length > 2 || parts.some((p) => p === '') || nums.some((n) => !Number.isFinite(n) || n <= 0 || n > MAX_MM_PER_PX)) {
    throw new SgusError(ErrorCode.InvalidArgument, `${what} must be X or X,Y millimetres per pixel, each > 0 and <= ${MAX_MM_PER_PX}, got '${text}'`);
  }
  return { mmPerPxX: nums[0]!, mmPerPxY: nums[1] ?? nums[0]! };
}

/** The calibration of `--mm-per-px`, or undefined when it was not given. */
export function calibrationOption(values: Record<string, unknown>): WireCalibration | undefined {
  const v = values['mm-per-px'];
  if (v === undefined) return undefined;
  return { ...parseScale(String(v), '--mm-per-px'), source: 'from --mm-per-px' };
}

/**
 * A preset stream's calibration: `--mm-per-px` wins over the preset's `mmPerPx` (the user at the
 * command line knows this session's scanner setting); either one says where it came from.
 */
export function streamCalibration(option: WireCalibration | undefined, preset: { name: string; mmPerPx?: number | undefined }): WireCalibration | undefined {
  if (option !== undefined) return option;
  const p = preset.mmPerPx;
  if (p === undefined) return undefined;
  return { ...parseScale(String(p), `preset ${preset.name}: settings.mmPerPx`), source: `from preset ${preset.name} (mmPerPx)` };
}

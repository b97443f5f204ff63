/** `sgus serve`: run stream presets from streams/ at once with the web viewer (`npm start`). */
import { describeError, ErrorCode, SgusError } from '../errors.js';
import type { StreamConfig } from '../pipeline/compose.js';
import { probeVideo } from '../pipeline/probe.js';
import { loadPreset, presetToStream, STREAMS_DIR } from '../pipeline/stream-preset.js';
import { MODEL_OPTIONS, MODEL_OPTIONS_HELP, parse } from './args.js';
import { CALIBRATION_OPTIONS, CALIBRATION_OPTIONS_HELP, calibrationOption, streamCalibration } from './calibration-option.js';
import { rulerCalibration } from './ruler-calibration.js';
import type { CliCommand } from './command.js';
import { runSession } from './session.js';
import { formatScoreSummary } from '../score/score-summary.js';
import { loadSegmenter, PIPELINE_OPTIONS, PIPELINE_OPTIONS_HELP, pipelineSettings, SERVER_OPTIONS, serverOptionsHelp, serverSettings, STREAM_COMMAND_DEFAULTS, summaryLine } from './stream-options.js';

const help = `
Usage: sgus serve [--stream PRESET...] [--host ADDR] [--port N] [--token T] [options]

Runs stream presets at once, all sharing one model and one batcher, and serves the web viewer.
Prints the viewer URL. Runs until Ctrl-C, which stops the streams and finalises their outputs.
A preset is a JSON file in streams/ (validated against streams/schema.json): name, title, source
(file | device | url | lavfi | synthetic), mode (replay | live), loop, realtime, settings.

With --pacs the viewer is a PACS workstation instead: its PACS panel finds a patient's ultrasound
studies (QIDO-RS), and a cine loop opened there is retrieved (WADO-RS) and played with its outline
and the mm² of its own calibration, looping, as the stream 'pacs' (another opened replaces it).

Options:
      --pacs URL|config   the PACS's DICOMweb root (http or https), or 'config' for $SGUS_PACS_URL / the
                          config file; credentials from SGUS_PACS_USER / SGUS_PACS_PASSWORD or the
                          config file ($SGUS_PACS_CONFIG, default ~/.config/sgus/pacs.json), never the
                          command line; the browser never sees them (default: no PACS)
  -s, --stream PRESET     a preset name in streams/ or a path to a preset .json; repeat for more
                          streams (default: sample-exam, a synthetic 640x480 exam generated once
                          into .cache/ and replayed in a loop at real time)
${serverOptionsHelp(false)}
${CALIBRATION_OPTIONS_HELP}
                          (every stream; a preset may set its own: settings.mmPerPx)
${PIPELINE_OPTIONS_HELP}
${MODEL_OPTIONS_HELP}

Presets shipped: ${STREAMS_DIR}/*.json

Examples:
  npm start
  sgus serve --stream sample-exam --stream test-pattern --port 8080
  sgus serve --stream ./ward-3.json --host 0.0.0.0 --token secret
  SGUS_PACS_USER=sgus SGUS_PACS_PASSWORD=... sgus serve --pacs https://pacs.example.org/dicom-web
`;

const command: CliCommand = {
  help,
  async run(args: string[]): Promise<number> {
    const { values } = parse(args, { ...MODEL_OPTIONS, ...PIPELINE_OPTIONS, ...SERVER_OPTIONS, ...CALIBRATION_OPTIONS, stream: { type: 'string', short: 's', multiple: true }, pacs: { type: 'string' } }, false);
    const settings = pipelineSettings(values);
    const viewer = await serverSettings(values);
    if (typeof values.pacs === 'string') {
      if (values.stream !== undefined) throw new SgusError(ErrorCode.InvalidArgument, '--pacs and --stream exclude each other: the PACS panel opens the loops');
      const { runPacsServe } = await import('./pacs-viewer.js');
      return runPacsServe(values, settings, viewer);
    }
    const calibration = calibrationOption(values);
    const names = (values.stream as string[] | undefined) ?? ['sample-exam'];
    const presets = await Promise.all(names.map((n) => loadPreset(n)));
    const ids = new Set<string>();
    for (const p of presets) {
      if (ids.has(p.name)) throw new SgusError(ErrorCode.InvalidArgument, `stream '${p.name}' given twice`, { where: p.file });
      ids.add(p.name);
    }
    // Checked before anything is generated or loaded: a bad scale is one line at once.
    const calibrations = new Map(presets.map((p) => [p.name, streamCalibration(calibration, { name: p.name, mmPerPx: p.settings?.mmPerPx })]));
    return runSession({
      settings,
      viewer,
      // The viewer first: on a first start the sample exam takes tens of seconds to generate, and the
      // page says so (the stream listed as starting, with the progress) instead of nothing answering.
      viewerFirst: true,
      onViewer: (server) => {
        for (const p of presets) {
          server.setCalibration(p.name, calibrations.get(p.name));
          // Listed (and in /healthz) as down until their sources open, not missing.
          server.expectStream(p.name, p.title ?? p.name, p.mode);
        }
      },
      streams: async (server) => {
        const streams: StreamConfig[] = [];
        for (const p of presets) {
          let lastTenth = -1;
          const s = await presetToStream(
            p,
            (file) => {
              if (!settings.quiet) process.stderr.write(`sgus: ${p.name}: generating the synthetic source ${file} (once; the viewer shows the progress)\n`);
            },
            (done, total) => {
              const pct = Math.floor((100 * done) / total);
              server?.setStreamState(p.name, 'starting', { reason: `preparing ${p.title ?? p.name}: ${pct} % (first start only)` });
              if (!settings.quiet && Math.floor(pct / 10) !== lastTenth) {
                lastTenth = Math.floor(pct / 10);
                process.stderr.write(`sgus: ${p.name}: preparing ${pct} %\n`);
              }
            },
          );
          if (s.source.type === 'file') {
            try {
              s.probe = await probeVideo(s.source.path);
            } catch (err) {
              throw new SgusError(ErrorCode.SourceFailure, describeError(err), { where: p.file, cause: err });
            }
          }
          // A recorded file with no scale given is scaled by its depth ruler when one is clearly there.
          let cal = calibrations.get(p.name);
          // A DICOM preset carries the scanner's own calibration (its header), unless the preset gives one.
          if (cal === undefined && s.calibration !== undefined) {
            cal = s.calibration;
            server?.setCalibration(p.name, cal);
          }
          if (cal === undefined && values['no-ruler'] !== true && s.source.type === 'file' && s.probe !== undefined) {
            cal = await rulerCalibration(s.source.path);
            if (cal !== undefined) server?.setCalibration(p.name, cal);
          }
          if (cal !== undefined) s.calibration = cal;
          if (!settings.quiet) process.stderr.write(`sgus: ${p.name}: scale ${cal !== undefined ? `${cal.mmPerPxX.toFixed(4)} mm/pixel ${cal.source}` : 'unknown: figures in pixels'}\n`);
          if (settings.stallTimeoutS !== undefined) s.stallTimeoutS ??= settings.stallTimeoutS;
          streams.push(s);
          if (lastTenth >= 0) server?.setStreamState(p.name, 'starting', { reason: 'loading the model' });
        }
        return streams;
      },
      loadSegmenter: () => loadSegmenter(values),
      banner: (seg, streams) => `sgus: ${seg.engineInfo.reason}; model ${seg.card.name}; streams ${streams.map((s) => `${s.id} (${s.mode})`).join(', ')}`,
      // Several streams share the batcher: a short wait lets their frames meet in one batch.
      defaultMaxDelayMs: (streams) => (streams.length > 1 ? STREAM_COMMAND_DEFAULTS.sharedMaxDelayMs : STREAM_COMMAND_DEFAULTS.realtimeMaxDelayMs),
      isolateFailures: true,
      hooks: {
        onStart: (p) => {
          p.on('streamEnded', (id, reason) => process.stderr.write(`sgus: ${id}: ended (${reason})\n`));
        },
        // Several streams: one status line every second, streams joined.
        onStatus: (lines) => process.stderr.write(`${lines.join(' | ')}\n`),
      },
      report: async (result) => {
        const metrics = result.summary?.metrics ?? result.pipeline.metrics();
        for (const m of metrics) process.stderr.write(`sgus: ${summaryLine(m, result.summary?.seconds ?? 0)}\n`);
        // Each stream's exam score (its status lines carried it while it ran).
        if (result.scorer !== undefined) for (const id of result.scores.streams()) process.stderr.write(`sgus: ${formatScoreSummary(result.scores.summary(id, result.scorer.card))}\n`);
        if (result.error !== undefined) throw result.error;
        return 0;
      },
    });
  },
};

export default command;

/** `sgus listen`: a DICOM node that segments what scanners push and forwards the results to the PACS. */
import { ErrorCode, SgusError } from '../errors.js';
import { ListenService } from '../pacs/listen-service.js';
import { resolvePacsOptions } from '../pacs/pacs-options.js';
import { createSegmenter } from '../segmenter/segmenter.js';
import { engineOptions, intOption, MODEL_OPTIONS, MODEL_OPTIONS_HELP, parse } from './args.js';
import type { CliCommand } from './command.js';

const help = `Usage: sgus listen --allow AET[,AET...] [--aet SGUS] [--port 11112] [--pacs URL] [options]

A DICOM receiver (C-STORE SCP, and C-ECHO) for scanners and PACSs: each ultrasound image pushed to
it is segmented as it arrives, and its DICOM Segmentation and TID 1500 measurement report are stored
on the PACS (STOW-RS) in the image's study. Received images and results wait in a queue on disk, so
nothing received is lost when SGUS Live stops or the PACS is down: a sender is told "success" only
once its image is on disk; on restart, or when the PACS is back, the queue is worked off in arrival
order, each result stored once. Only ultrasound images (US, US Multi-frame) are accepted.

Options:
      --aet TITLE         this node's AE title; associations calling another are refused (default: SGUS)
      --port N            TCP port (default: 11112)
      --host ADDR         address to listen on (default: 0.0.0.0, every interface)
      --allow LIST        calling AE titles allowed to send, comma-separated; '*' allows any (required:
                          without it every caller would be refused)
      --allow-host LIST   peer IP addresses allowed to connect, comma-separated (default: any host)
      --queue DIR         the queue folder (default: ./sgus-queue); failed/ in it holds what could not
                          be segmented or was refused by the PACS, each with a .txt reason
      --retry S           seconds between tries while the PACS cannot be reached (default: 5)
  -b, --batch N           frames per inference call (default: 4)
      --pacs URL          the PACS's DICOMweb root, http or https (default: $SGUS_PACS_URL, else 'url' in
                          the config file). Credentials: SGUS_PACS_USER / SGUS_PACS_PASSWORD or the config
                          file ($SGUS_PACS_CONFIG, default ~/.config/sgus/pacs.json), never the command line.
${MODEL_OPTIONS_HELP}

Logs one line per image received, segmented and stored, and per refused caller. Stops on Ctrl-C
(SIGINT) or SIGTERM, leaving the queue for the next run.

Example:
  SGUS_PACS_URL=http://127.0.0.1:8042/dicom-web sgus listen --aet SGUS --port 11112 --allow US_ROOM_3,ORTHANC
  storescu -aec SGUS 127.0.0.1 11112 exam.dcm      # from the scanner's side (dcmtk)`;

function list(v: unknown): string[] {
  return typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
}

const command: CliCommand = {
  help,
  async run(args) {
    const { values } = parse(
      args,
      { ...MODEL_OPTIONS, aet: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, allow: { type: 'string' }, 'allow-host': { type: 'string' }, queue: { type: 'string' }, retry: { type: 'string' }, pacs: { type: 'string' }, batch: { type: 'string', short: 'b' } },
      false,
    );
    const allowedCallers = list(values.allow);
    if (allowedCallers.length === 0) throw new SgusError(ErrorCode.InvalidArgument, "sgus listen needs --allow AET[,AET...]: the calling AE titles that may send (or '*' for any)");
    const port = intOption(values.port, 'port', 0, 11112);
    if (port > 65535) throw new SgusError(ErrorCode.InvalidArgument, `--port must be at most 65535, got ${port}`);
    const retry = values.retry !== undefined ? Number(values.retry) : 5;
    if (!(retry > 0)) throw new SgusError(ErrorCode.InvalidArgument, `--retry must be a positive number of seconds, got '${String(values.retry)}'`);
    const pacs = resolvePacsOptions(typeof values.pacs === 'string' ? { url: values.pacs } : {});
    const segmenter = await createSegmenter({ ...engineOptions(values), threshold: 0.5, minComponentFraction: 0.002, maxHoleFraction: 0.002 });
    const service = new ListenService({
      aet: (values.aet as string | undefined) ?? 'SGUS',
      port,
      host: (values.host as string | undefined) ?? '0.0.0.0',
      allowedCallers,
      allowedHosts: list(values['allow-host']),
      queueDir: (values.queue as string | undefined) ?? 'sgus-queue',
      retryMs: retry * 1000,
      batchSize: intOption(values.batch, 'batch', 1, 4),
      pacs,
      segmenter,
    });
    const stamp = (): string => new Date().toISOString().slice(11, 19);
    service.on('log', (l) => process.stderr.write(`${stamp()} ${l}\n`));
    try {
      await service.start();
    } catch (err) {
      await service.close();
      throw err;
    }
    process.stderr.write(`${stamp()} listening as ${(values.aet as string | undefined) ?? 'SGUS'} on ${(values.host as string | undefined) ?? '0.0.0.0'}:${service.port}; model ${segmenter.card.name}; results to ${pacs.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    process.stderr.write(`${stamp()} stopping; the queue stays for the next run\n`);
    await service.close();
    return 0;
  },
};

export default command;

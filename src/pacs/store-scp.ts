/**
 * The DICOM receiver of `sgus listen`: a C-STORE SCP (and C-ECHO, for "verify" buttons) on
 * dcmjs-dimse. Scanners and PACSs push ultrasound images to it; each is streamed to disk as a Part
 * 10 file (never held whole in memory) and confirmed to the sender only once it is durable in the
 * queue. Callers are checked before anything is received: the connecting host against an
 * allow-list when given, the calling AE title against the allow-list, the called AE title against
 * ours. The TCP server is our own, not dcmjs-dimse's `Server`, which cannot bind one address.
 */
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Writable } from 'node:stream';
import dimse from 'dcmjs-dimse';
import type { association as Assoc, requests as Req } from 'dcmjs-dimse';
import { SUPPORTED_TRANSFER_SYNTAXES, ULTRASOUND_SOP_CLASSES } from '../dicom/dicom-file.js';
import { describeError, ErrorCode, SgusError } from '../errors.js';
import { TypedEmitter } from '../typed-emitter.js';
import { part10Header } from './part10-header.js';

const { Scp, constants, responses } = dimse;
const { PresentationContextResult, RejectResult, RejectSource, RejectReason, Status } = constants;
const VERIFICATION = '1.2.840.10008.1.1';

export interface StoreScpOptions {
  /** Our AE title; associations calling another are refused. Default 'SGUS'. */
  aet?: string;
  /** TCP port. Default 11112 (0: any free one, see `port` after `listen()`). */
  port?: number;
  /** Address to bind. Default '0.0.0.0' (every interface: scanners are on the network). */
  host?: string;
  /** Calling AE titles allowed to send; '*' allows any. Default: none (every caller refused). */
  allowedCallers?: readonly string[];
  /** Peer addresses allowed to connect (IPv4/IPv6 text). Default: empty, any host. */
  allowedHosts?: readonly string[];
  /** Where a reception in progress is written (a fresh path per image). */
  incomingPath: () => string;
  /** Makes a received file durable; the sender is told "success" only once it resolves. */
  commit: (file: string, info: ReceivedInfo) => Promise<void>;
}

export interface ReceivedInfo {
  sopClassUid: string;
  sopInstanceUid: string;
  callingAet: string;
  host: string;
}

type ScpEvents = {
  /** An image was received and committed. */
  received: [info: ReceivedInfo];
  /** An association or connection refused, with why (one line). */
  refused: [line: string];
  /** A reception that failed (one line); the sender got a failure status. */
  failed: [line: string];
};

/** IPv4-mapped IPv6 addresses (::ffff:1.2.3.4) compare as their IPv4 text. */
function plainAddress(a: string | undefined): string {
  return (a ?? '').replace(/^::ffff:/, '');
}

export class StoreScp extends TypedEmitter<ScpEvents> {
  readonly aet: string;
  readonly #o: StoreScpOptions;
  readonly #callers: ReadonlySet<string>;
  readonly #hosts: ReadonlySet<string>;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #port: number;
  #closed = false;

  constructor(options: StoreScpOptions) {
    super();
    if (typeof options?.incomingPath !== 'function' || typeof options.commit !== 'function') throw new SgusError(ErrorCode.InvalidArgument, 'StoreScp needs incomingPath and commit');
    const aet = options.aet ?? 'SGUS';
    if (!/^[\x20-\x7e]{1,16}$/.test(aet) || aet.includes('\\') || aet.trim() === '') throw new SgusError(ErrorCode.InvalidArgument, `AE title must be 1-16 printable characters, got '${aet}'`);
    this.aet = aet.trim();
    this.#o = options;
    this.#port = options.port ?? 11112;
    this.#callers = new Set((options.allowedCallers ?? []).map((c) => c.trim()));
    this.#hosts = new Set((options.allowedHosts ?? []).map(plainAddress));
  }

  /** The port listened on (the kernel's pick when 0 was asked for). */
  get port(): number {
    return this.#port;
  }

  async listen(): Promise<void> {
    if (this.#server !== undefined || this.#closed) return;
    const server = createServer((socket) => this.#connection(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new SgusError(ErrorCode.SourceFailure, `cannot listen: ${describeError(err)}`, { where: `${this.#o.host ?? '0.0.0.0'}:${this.#port}`, cause: err })));
      server.listen(this.#port, this.#o.host ?? '0.0.0.0', () => resolve());
    });
    const addr = server.address();
    if (typeof addr === 'object' && addr !== null) this.#port = addr.port;
  }

  /** Stops listening and drops open associations (their senders resend what got no success). Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #connection(socket: Socket): void {
    const host = plainAddress(socket.remoteAddress);
    if (this.#hosts.size > 0 && !this.#hosts.has(host)) {
      this.emit('refused', `connection from ${host} refused: host not on the allow-list`);
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    const scp = new (this.#scpClass(host))(socket, { associationTimeout: 30_000, pduTimeout: 60_000 });
    scp.on('networkError', () => socket.destroy());
  }

  /** An Scp class bound to this receiver and the connecting host. */
  #scpClass(host: string): typeof Scp {
    const self = this;
    return class SgusScp extends Scp {
      #callingAet = '';

      override associationRequested(association: Assoc.Association): void {
        const calling = association.getCallingAeTitle().trim();
        const called = association.getCalledAeTitle().trim();
        this.#callingAet = calling;
        if (called !== self.aet) {
          self.emit('refused', `association from ${calling}@${host} refused: it called '${called}', this node is '${self.aet}'`);
          this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
          return;
        }
        if (!self.#callers.has('*') && !self.#callers.has(calling)) {
          self.emit('refused', `association from ${calling}@${host} refused: calling AE title not on the allow-list`);
          this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
          return;
        }
        for (const { id } of association.getPresentationContexts()) {
          const ctx = association.getPresentationContext(id);
          const abstract = ctx.getAbstractSyntaxUid();
          if (abstract === VERIFICATION) {
            ctx.setResult(PresentationContextResult.Accept, '1.2.840.10008.1.2');
            continue;
          }
          // Ultrasound only: the models know nothing else; other images are refused at negotiation.
          if (!ULTRASOUND_SOP_CLASSES.has(abstract)) {
            ctx.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
            continue;
          }
          // The sender's first syntax that the reader decodes (its JPEG, not an inflated copy).
          const ts = ctx.getTransferSyntaxUids().find((t) => SUPPORTED_TRANSFER_SYNTAXES.has(t));
          if (ts === undefined) ctx.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
          else ctx.setResult(PresentationContextResult.Accept, ts);
        }
        this.sendAssociationAccept();
      }

      override associationReleaseRequested(): void {
        this.sendAssociationReleaseResponse();
      }

      override cEchoRequest(request: Req.CEchoRequest, callback: (r: InstanceType<typeof responses.CEchoResponse>) => void): void {
        const r = responses.CEchoResponse.fromRequest(request);
        r.setStatus(Status.Success);
        callback(r);
      }

      override createStoreWritableStream(ctx: Assoc.PresentationContext, request: Req.CStoreRequest): Writable {
        const file = self.#o.incomingPath();
        const out = createWriteStream(file);
        out.write(part10Header(request.getAffectedSopClassUid(), request.getAffectedSopInstanceUid(), ctx.getAcceptedTransferSyntaxUid() ?? '1.2.840.10008.1.2', this.#callingAet));
        (out as WriteStream & { sgusFile?: string }).sgusFile = file;
        return out;
      }

      override createDatasetFromStoreWritableStream(writable: Writable, _ctx: Assoc.PresentationContext, callback: (dataset: never) => void): void {
        const file = (writable as WriteStream & { sgusFile?: string }).sgusFile ?? '';
        const done = (error?: unknown): void => callback({ sgusFile: file, error } as never);
        // The library has ended the stream; the file is complete once it is closed.
        if ((writable as WriteStream).closed) done();
        else {
          writable.once('close', () => done());
          writable.once('error', (err) => done(err));
        }
      }

      override cStoreRequest(request: Req.CStoreRequest, callback: (r: InstanceType<typeof responses.CStoreResponse>) => void): void {
        const held = request.getDataset() as unknown as { sgusFile: string; error?: unknown } | undefined;
        const info: ReceivedInfo = { sopClassUid: request.getAffectedSopClassUid(), sopInstanceUid: request.getAffectedSopInstanceUid(), callingAet: this.#callingAet, host };
        const reply = (status: number): void => {
          const r = responses.CStoreResponse.fromRequest(request);
          r.setStatus(status);
          callback(r);
        };
        if (held === undefined || held.error !== undefined) {
          self.emit('failed', `${info.sopInstanceUid} from ${info.callingAet}@${host}: not received: ${describeError(held?.error ?? 'no data')}`);
          if (held !== undefined) void rm(held.sgusFile, { force: true });
          reply(Status.ProcessingFailure);
          return;
        }
        self.#o.commit(held.sgusFile, info).then(
          () => {
            reply(Status.Success);
            self.emit('received', info);
          },
          (err: unknown) => {
            self.emit('failed', `${info.sopInstanceUid} from ${info.callingAet}@${host}: cannot queue it: ${describeError(err)}`);
            void rm(held.sgusFile, { force: true });
            reply(Status.ProcessingFailure);
          },
        );
      }
    };
  }
}

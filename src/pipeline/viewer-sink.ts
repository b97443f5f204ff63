/** Viewer sink: hands every result to the viewer hub (`ViewerHubPort`). The hub never blocks. */
import { tap } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import { describeError, ErrorCode, SgusError } from '../errors.js';
import type { FrameResult, ViewerHubPort } from './frame.js';

export interface ViewerSinkOptions {
  hub: ViewerHubPort;
  /** Called when the hub throws (the frame is skipped for viewers, the pipeline goes on). Default: nothing. */
  onError?: (err: SgusError) => void;
}

export function viewerSink(options: ViewerSinkOptions): OperatorFunction<FrameResult, FrameResult> {
  if (options?.hub === undefined || typeof options.hub.publishFrame !== 'function') throw new SgusError(ErrorCode.InvalidArgument, 'viewer sink needs a hub', { where: 'viewer sink' });
  const { hub } = options;
  return tap((r: FrameResult) => {
    try {
      hub.publishFrame(r);
    } catch (err) {
      options.onError?.(new SgusError(ErrorCode.SinkFailure, `viewer hub: ${describeError(err)}`, { where: `stream ${r.frame.streamId}`, fatal: false, cause: err }));
    }
  });
}

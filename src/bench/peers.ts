/**
 * Published figures of comparable systems, quoted beside ours in the report. They were measured by
 * others, on other hardware (GPUs), and are labelled as quotations; nothing here is measured.
 */

export interface PeerFigure {
  system: string;
  what: string;
  /** Frames per second, when the source gives one. */
  fps?: number;
  /** End-to-end latency, ms. */
  meanLatencyMs?: number;
  maxLatencyMs?: number;
  hardware: string;
  source: string;
}

export const PEERS: readonly PeerFigure[] = [
  {
    system: 'DeepSGUS',
    what: 'segmentation of salivary gland ultrasound frames (published model)',
    fps: 24.5,
    hardware: 'a GPU',
    source: 'DeepSGUS publication (quoted figure)',
  },
  {
    system: 'NVIDIA Holoscan video AI workflows',
    what: 'end-to-end latency of a video AI pipeline (capture → inference → display)',
    meanLatencyMs: 37,
    maxLatencyMs: 54,
    hardware: 'a GPU (NVIDIA developer kit)',
    source: 'NVIDIA Holoscan documentation (quoted figure)',
  },
];

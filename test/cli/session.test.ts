import assert from 'node:assert/strict';
import { get } from 'node:http';
import { describe, it } from 'node:test';
import { runSession } from '../../src/cli/session.js';
import type { SessionOptions } from '../../src/cli/session.js';
import { pipelineSettings } from '../../src/cli/stream-options.js';
import type { ServerSettings } from '../../src/cli/stream-options.js';
import type { StreamConfig } from '../../src/pipeline/compose.js';
import type { ViewerServer } from '../../src/server/viewer-server.js';
import { clip, fakeSegmenter } from '../helpers/pipeline.js';

const viewer: ServerSettings = { host: '127.0.0.1', port: 0, token: undefined, insecure: false, allowedHosts: [], allowedOrigins: [], maxViewers: 4 };

function fetchText(port: number, route: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: route }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** A session on a short clip, with the steps it takes recorded in order. */
async function session(extra: Partial<SessionOptions> & { file: string }): Promise<{ code: number; steps: string[]; closedSeg: boolean; server: ViewerServer | undefined }> {
  const steps: string[] = [];
  const seg = fakeSegmenter();
  let closedSeg = false;
  seg.close = async () => {
    closedSeg = true;
  };
  let server: ViewerServer | undefined;
  const stream: StreamConfig = { id: 'replay', source: { type: 'file', path: extra.file } };
  const code = await runSession({
    settings: { ...pipelineSettings({}), quiet: true },
    viewer,
    onViewer: (s) => {
      server = s;
      steps.push('viewer');
    },
    streams: async (s) => {
      steps.push(s !== undefined ? 'streams (viewer up)' : 'streams');
      return [stream];
    },
    loadSegmenter: async () => {
      steps.push('model');
      return seg;
    },
    banner: () => 'banner',
    defaultMaxDelayMs: 0,
    report: async (run) => {
      steps.push(`report ${run.summary?.metrics[0]?.framesOut ?? 0} frames`);
      // The viewer is still up for the report, and /metrics reads the pipeline's figures.
      assert.ok(run.server !== undefined);
      assert.match(await fetchText(run.server.port, '/metrics'), /stream="replay"/);
      return 7;
    },
    ...extra,
  });
  return { code, steps, closedSeg, server };
}

describe('runSession', () => {
  it('replay and live: model first, then the viewer (which names the model), then the run and the report; the exit code is the report\'s', async () => {
    const file = await clip({ seconds: 1 });
    const r = await session({ file });
    assert.equal(r.code, 7);
    assert.deepEqual(r.steps.slice(0, 3), ['streams', 'model', 'viewer']);
    assert.match(r.steps[3]!, /^report [1-9]\d* frames$/);
    assert.ok(r.closedSeg, 'the model is closed after the report');
    await assert.rejects(fetchText(r.server!.port, '/healthz'), 'the viewer is closed after the report');
  });

  it('serve (viewerFirst): the viewer is up before the streams are prepared and the model loads', async () => {
    const file = await clip({ seconds: 1 });
    const r = await session({ file, viewerFirst: true });
    assert.deepEqual(r.steps.slice(0, 3), ['viewer', 'streams (viewer up)', 'model']);
  });

  it('closes the viewer and the model when the report throws, and passes the error on', async () => {
    const file = await clip({ seconds: 1 });
    let port = 0;
    let closed = false;
    const seg = fakeSegmenter();
    seg.close = async () => {
      closed = true;
    };
    await assert.rejects(
      session({
        file,
        loadSegmenter: async () => seg,
        report: async (run) => {
          port = run.server!.port;
          throw new Error('report failed');
        },
      }),
      /report failed/,
    );
    assert.ok(closed);
    await assert.rejects(fetchText(port, '/healthz'));
  });

  it('a stream that cannot be prepared ends the session before the model loads, the viewer closed', async () => {
    let loaded = false;
    await assert.rejects(
      runSession({
        settings: { ...pipelineSettings({}), quiet: true },
        viewer,
        viewerFirst: true,
        streams: async () => {
          throw new Error('no such preset');
        },
        loadSegmenter: async () => {
          loaded = true;
          return fakeSegmenter();
        },
        banner: () => '',
        defaultMaxDelayMs: 0,
        report: async () => 0,
      }),
      /no such preset/,
    );
    assert.equal(loaded, false);
  });
});

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
  it('replay and live: the model loads while the streams are prepared, then the viewer (which names the model), then the run and the report; the exit code is the report\'s', { timeout: 20_000 }, async () => {
    const file = await clip({ seconds: 1 });
    // The streams wait until the model has begun loading: a session that loads it only after them never gets here.
    let modelStarted!: () => void;
    const started = new Promise<void>((r) => (modelStarted = r));
    const seg = fakeSegmenter();
    const r = await session({
      file,
      loadSegmenter: async () => {
        modelStarted();
        await new Promise((t) => setTimeout(t, 50));
        return seg;
      },
      streams: async () => {
        await started;
        return [{ id: 'replay', source: { type: 'file', path: file } }];
      },
      onViewer: () => undefined,
    });
    assert.equal(r.code, 7);
    assert.equal(r.steps.length, 1);
    assert.match(r.steps[0]!, /^report [1-9]\d* frames$/);
  });

  it('replay and live: the steps in order: model and streams begun, then the viewer, the run and the report', async () => {
    const file = await clip({ seconds: 1 });
    const r = await session({ file });
    assert.equal(r.code, 7);
    assert.deepEqual(r.steps.slice(0, 3), ['model', 'streams', 'viewer']);
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

  it('a stream that cannot be prepared while the model loads ends the session with the model closed', async () => {
    let closed = false;
    const seg = fakeSegmenter();
    seg.close = async () => {
      closed = true;
    };
    await assert.rejects(
      runSession({
        settings: { ...pipelineSettings({}), quiet: true },
        viewer,
        streams: async () => {
          throw new Error('no such file');
        },
        loadSegmenter: async () => seg,
        banner: () => '',
        defaultMaxDelayMs: 0,
        report: async () => 0,
      }),
      /no such file/,
    );
    assert.equal(closed, true);
  });

  it('a model that fails while the streams are prepared fails the session once, with its own error', async () => {
    await assert.rejects(
      runSession({
        settings: { ...pipelineSettings({}), quiet: true },
        viewer: undefined,
        streams: async () => {
          await new Promise((t) => setTimeout(t, 50));
          return [];
        },
        loadSegmenter: async () => {
          throw new Error('model file damaged');
        },
        banner: () => '',
        defaultMaxDelayMs: 0,
        report: async () => 0,
      }),
      /model file damaged/,
    );
  });
});

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { PACKAGE_ROOT } from '../../src/segmenter/model-registry.js';
import { CLI, runCli } from '../helpers/cli.js';
import { testModelSpec } from '../helpers/test-model.js';

const NO_TOKEN = { SGUS_TOKEN: '' };

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  return lines[0]!;
}

describe('viewer options on the command line', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sgus-cli-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses --host beyond loopback without a token in one line, before loading a model, unless --insecure', async () => {
    for (const args of [['serve', '--host', '0.0.0.0'], ['replay', 'no-such-exam.mp4', '--serve', '--host', '0.0.0.0'], ['live', '--input', 'lavfi:testsrc2', '--serve', '--host', '::']]) {
      const r = await runCli(args, { env: NO_TOKEN, timeoutMs: 30_000 });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(oneLine(r.stderr), /^sgus: listening on (0\.0\.0\.0|::) opens the viewer to the network: set a token \(--token or SGUS_TOKEN\), or pass --insecure to serve without one$/);
    }
  });

  it('refuses malformed viewer options with one line each', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--allowed-host', 'https://ward.example/'], /--allowed-host 'https:\/\/ward\.example\/' is not a host name/],
      [['--allowed-origin', 'ward.example'], /--allowed-origin 'ward\.example' must be an origin/],
      [['--tls-cert', path.join(dir, 'cert.pem')], /--tls-cert and --tls-key go together/],
      [['--tls-cert', path.join(dir, 'missing.pem'), '--tls-key', path.join(dir, 'key.pem')], /--tls-cert .*missing\.pem: cannot read: no such file/],
      [['--max-viewers', '0'], /--max-viewers must be an integer >= 1, got '0'/],
      [['--fallback-size', '1.5'], /--fallback-size must be an integer >= 0, got '1.5'/],
      [['--recordings', ''], /--recordings needs a folder/],
    ];
    for (const [extra, re] of cases) {
      const r = await runCli(['serve', ...extra], { env: NO_TOKEN, timeoutMs: 30_000 });
      assert.equal(r.code, 2, r.stderr);
      assert.match(oneLine(r.stderr), re);
    }
  });

  it('documents every viewer option with its default in --help of serve, replay and live', async () => {
    for (const cmd of ['serve', 'replay', 'live']) {
      const r = await runCli([cmd, '--help']);
      assert.equal(r.code, 0);
      for (const re of [/--host ADDR .*\(default 127\.0\.0\.1\)/, /--port N .*\(default 8080\)/, /--insecure/, /--allowed-host H/, /--allowed-origin O/, /--tls-cert FILE/, /--tls-key FILE/, /--max-viewers N .*\(default 64\)/, /\?token=<your token>/, /--fallback-size N [^]*?\(default the source size;/, /--recordings DIR [^]*?default \.\/sgus-recordings;/]) {
        assert.match(r.stdout, re, `${cmd} --help: ${re}`);
      }
    }
  });

  it('serves HTTPS with --tls-cert/--tls-key, answers --allowed-host names only, caps viewers at --max-viewers, and never prints the token', async () => {
    const m = testModelSpec();
    const child = spawn(process.execPath, [CLI, 'live', '--input', 'lavfi:testsrc2=size=160x120:rate=10', '--serve', '--port', '0', '--token', 'cli-s3cret', '--tls-cert', path.join(dir, 'cert.pem'), '--tls-key', path.join(dir, 'key.pem'), '--allowed-host', 'ward.example', '--max-viewers', '1', '-q', ...(m !== undefined ? ['--model', m] : [])], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const ca = readFileSync(path.join(dir, 'cert.pem'));
    try {
      const t0 = Date.now();
      while (!/viewer: \S+/.test(stdout) && child.exitCode === null && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 100));
      const port = /^viewer: https:\/\/127\.0\.0\.1:(\d+)\/\?token=<your token>$/m.exec(stdout)?.[1];
      assert.ok(port !== undefined, `viewer URL printed: ${stdout} ${stderr}`);
      const status = (host: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const req = httpsRequest({ host: '127.0.0.1', port: Number(port), path: '/healthz', ca, servername: 'localhost', headers: { host } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      assert.equal(await status('ward.example'), 200);
      assert.equal(await status(`127.0.0.1:${port}`), 200);
      assert.equal(await status(`attacker.example:${port}`), 421);
      const open = (): Promise<{ ws: WebSocket; closed: Promise<number> }> =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`wss://127.0.0.1:${port}/ws?token=cli-s3cret`, { ca });
          const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
          ws.once('message', () => resolve({ ws, closed }));
          ws.once('error', reject);
          ws.once('close', (code) => reject(new Error(`closed ${code}`)));
        });
      const first = await open();
      await assert.rejects(open(), /closed 1013/);
      first.ws.terminate();
    } finally {
      child.kill('SIGINT');
      await exited;
      clearTimeout(killer);
    }
    assert.doesNotMatch(stdout + stderr, /cli-s3cret/, 'the token is never printed');
  });
});

describe('pipeline defaults on the command line', () => {
  it('--help of replay, live and serve states the defaults the pipeline applies, read from where each is defined', async () => {
    const { BATCH_STAGE_DEFAULTS } = await import('../../src/pipeline/batch-stage.js');
    const { FFMPEG_SOURCE_DEFAULTS } = await import('../../src/pipeline/ffmpeg-source.js');
    const { POSTPROCESS_STAGE_DEFAULTS } = await import('../../src/pipeline/postprocess-stage.js');
    const { POSTPROCESS_DEFAULTS } = await import('../../src/segmenter/postprocess.js');
    const { STREAM_COMMAND_DEFAULTS } = await import('../../src/cli/stream-options.js');
    for (const cmd of ['serve', 'replay', 'live']) {
      const r = await runCli([cmd, '--help']);
      assert.equal(r.code, 0);
      const help = r.stdout.replace(/\s+/g, ' ');
      // One entry per option: from its name to the next line that starts an option.
      const entries = r.stdout.split(/\n(?=\s+(?:-\w, )?--[a-z])/).map((e) => e.replace(/\s+/g, ' ').trim());
      for (const [option, value] of [
        ['--batch N', BATCH_STAGE_DEFAULTS.maxBatchSize],
        ['--max-age MS', BATCH_STAGE_DEFAULTS.maxAgeMs],
        ['--work-size N', POSTPROCESS_STAGE_DEFAULTS.maxWorkingSize],
        ['--smooth MODE', POSTPROCESS_STAGE_DEFAULTS.smoothing],
        ['--ema-alpha A', POSTPROCESS_STAGE_DEFAULTS.emaAlpha],
        ['--threshold P', POSTPROCESS_DEFAULTS.threshold],
        ['--simplify PX', STREAM_COMMAND_DEFAULTS.simplifyPx],
        ['--stall-timeout S', FFMPEG_SOURCE_DEFAULTS.stallTimeoutS],
      ] as const) {
        const entry = entries.find((e) => e.replace(/^-\w, /, '').startsWith(`${option} `));
        assert.ok(entry?.endsWith(`(default ${value})`), `${cmd} --help: ${option}: ${entry}`);
      }
      assert.ok(help.includes(`(default: ${BATCH_STAGE_DEFAULTS.maxDelayMs} for --max-speed, ${STREAM_COMMAND_DEFAULTS.realtimeMaxDelayMs} for a single real-time`), `${cmd} --help: --max-delay`);
    }
    const live = (await runCli(['live', '--help'])).stdout.replace(/\s+/g, ' ');
    assert.ok(live.includes(`(${FFMPEG_SOURCE_DEFAULTS.reconnectInitialMs / 1000} s doubling to ${FFMPEG_SOURCE_DEFAULTS.reconnectMaxMs / 1000} s)`), 'live --help: the reconnect backoff');
  });

  it('options not given leave the defaults to their owners: the same values, the stall timeout to the source', async () => {
    const { pipelineSettings } = await import('../../src/cli/stream-options.js');
    const { BATCH_STAGE_DEFAULTS } = await import('../../src/pipeline/batch-stage.js');
    const { POSTPROCESS_STAGE_DEFAULTS } = await import('../../src/pipeline/postprocess-stage.js');
    const s = pipelineSettings({});
    assert.equal(s.maxBatchSize, BATCH_STAGE_DEFAULTS.maxBatchSize);
    assert.equal(s.maxAgeMs, BATCH_STAGE_DEFAULTS.maxAgeMs);
    assert.equal(s.maxDelayMs, undefined);
    assert.equal(s.stallTimeoutS, undefined);
    assert.equal(s.postprocess.maxWorkingSize, POSTPROCESS_STAGE_DEFAULTS.maxWorkingSize);
    assert.equal(pipelineSettings({ 'stall-timeout': '2' }).stallTimeoutS, 2);
  });
});

/**
 * The hub's JPEG fallback over a real socket: the pictures have the source's size, and their rate
 * follows the viewer's connection: it falls (never below 2 a second) while the viewer stops reading
 * and climbs back once it reads again. Times are read off the frames' own send stamps (`sentTs`).
 */
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { decodeFrameMessage } from '../../src/shared/protocol.js';
import { ViewerServer } from '../../src/server/viewer-server.js';
import { TestPublisher, hasFfmpeg, makeSyntheticClip } from '../helpers/synthetic-stream.js';
import type { SyntheticClip } from '../helpers/synthetic-stream.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pictures a second in the frames sent within [from, to) (server clock, ms). */
function rate(sent: number[], from: number, to: number): number {
  return (sent.filter((t) => t >= from && t < to).length * 1000) / (to - from);
}

/** A TCP relay to the hub whose hub-to-viewer direction can be limited to `limit` bytes a second (a slow link). */
function slowLink(port: number): Promise<{ server: Server; port: number; limit: number | undefined; sockets: Socket[] }> {
  const link = { server: undefined as unknown as Server, port: 0, limit: undefined as number | undefined, sockets: [] as Socket[] };
  link.server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    link.sockets.push(client, upstream);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      if (link.limit === undefined) return;
      // Read no more until this chunk's share of the second has passed: the hub's side backs up.
      upstream.pause();
      setTimeout(() => upstream.resume(), (chunk.length / link.limit) * 1000);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve) => link.server.listen(0, '127.0.0.1', () => {
    link.port = (link.server.address() as { port: number }).port;
    resolve(link);
  }));
}

describe('JPEG fallback rate over a socket', { skip: hasFfmpeg() ? false : 'no ffmpeg' }, () => {
  let clip: SyntheticClip;
  let server: ViewerServer;
  let pub: TestPublisher;
  before(async () => {
    // Large pictures, so that a socket that is not read fills within seconds.
    clip = await makeSyntheticClip({ width: 1280, height: 720, fps: 10, frames: 20, gop: 10 });
    server = await ViewerServer.start({ port: 0, token: '' });
    pub = new TestPublisher(server, clip, { streamId: 'big' }).start();
  });
  after(async () => {
    pub.stop();
    await server.close();
  });

  it('sends source-size pictures, fewer while the viewer stops reading, and as many again once it reads', async () => {
    const link = await slowLink(server.port);
    // The Host the hub answers to is its own address, not the relay's.
    const ws = new WebSocket(`ws://127.0.0.1:${link.port}/ws`, { headers: { Host: `127.0.0.1:${server.port}` } });
    const sent: number[] = [];
    let bytes = 0;
    const sizes = new Set<string>();
    ws.on('message', (data: RawData, binary: boolean) => {
      if (!binary) return;
      bytes += (data as Buffer).length;
      const f = decodeFrameMessage(new Uint8Array(data as Buffer));
      sent.push(f.header.sentTs);
      sizes.add(`${f.header.codec} ${f.header.width}x${f.header.height}`);
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'subscribe', streamId: 'big', codecs: ['jpeg'] }));
    await sleep(4000);
    const t0 = Date.now();
    const flowing = rate(sent, t0 - 2500, t0);
    assert.deepEqual([...sizes], ['jpeg 1280x720']);
    assert.ok(flowing >= 6, `${flowing} pictures/s while read`);

    // A slow link: 40 % of the bytes a second the pictures need (the relay's and the kernel's
    // buffers fill, then the hub's queue grows).
    const perPicture = bytes / sent.length;
    link.limit = perPicture * flowing * 0.4;
    await sleep(10000);
    link.limit = undefined;
    const t1 = Date.now();
    await sleep(6000);
    const t2 = Date.now();
    const backedUp = rate(sent, t1 - 3000, t1);
    const recovered = rate(sent, t2 - 2000, t2);
    if (process.env.SGUS_TEST_VERBOSE !== undefined) console.log(`fallback: ${flowing.toFixed(1)} → ${backedUp.toFixed(1)} → ${recovered.toFixed(1)} pictures/s, ${Math.round(perPicture / 1024)} KiB each`);
    ws.close();
    for (const so of link.sockets) so.destroy();
    link.server.close();
    // Fewer, never none: the 2-a-second floor holds only while the link and a shared CPU carry that
    // much (a busy CI machine encodes slower), so the check is "some" rather than the floor itself.
    assert.ok(backedUp <= 0.6 * flowing && backedUp >= 0.5, `${backedUp.toFixed(1)} pictures/s on the slow link (${flowing.toFixed(1)} before)`);
    assert.ok(recovered >= 0.8 * flowing, `${recovered.toFixed(1)} pictures/s once read again (${flowing.toFixed(1)} before)`);
  });
});

/**
 * The /healthz answer: 200 while every stream flows (or finished normally), 503 as soon as one is
 * down (not opened yet, stalled, reconnecting, failed), with each stream's state in the body, so a
 * monitor or a load balancer sees a dead scanner feed instead of a hub that is merely up.
 */
import type { StreamHealth } from './stream-states.js';

export interface HealthBody {
  /** 'ok', or 'down' when any stream is. */
  status: 'ok' | 'down';
  /** Number of streams (as before stream states: monitors may read it). */
  streams: number;
  /** Ids of the streams that are down. */
  down: string[];
  viewers: number;
  uptimeSeconds: number;
  streamStates: StreamHealth[];
}

export function healthReply(health: { healthy: boolean; streams: StreamHealth[] }, viewers: number): { status: 200 | 503; body: string } {
  const body: HealthBody = {
    status: health.healthy ? 'ok' : 'down',
    streams: health.streams.length,
    down: health.streams.filter((s) => !s.healthy).map((s) => s.id),
    viewers,
    uptimeSeconds: Math.round(process.uptime()),
    streamStates: health.streams,
  };
  return { status: health.healthy ? 200 : 503, body: JSON.stringify(body) };
}

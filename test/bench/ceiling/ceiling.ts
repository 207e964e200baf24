// Drives the plain-Node ceiling: starts a leader (and two followers for replication 3) as separate
// processes, sends it frames of the Kafka producer's batch size with the same number in flight,
// and times acknowledgements. Then one small frame at a time for the unloaded latency. The result
// is the most a durable, replicated log in Node can do on this machine.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Replication } from '../plan.ts';
import { startChild, type Child } from '../processes.ts';
import { mbPerSec, nowMs, summarizeLatencies, type LatencySummary } from '../stats.ts';
import { FrameReader, clientFrameHeader } from './protocol.ts';

export interface CeilingOptions {
  replication: Replication;
  frameBytes: number;
  window: number;
  durationMs: number;
  latencyFrameBytes: number;
  latencySamples: number;
  ports: { client: number; replication: number };
}

export interface CeilingFigures {
  replication: Replication;
  frameBytes: number;
  window: number;
  throughputMBps: number;
  latency: LatencySummary;
}

export async function measureCeiling(options: CeilingOptions): Promise<CeilingFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-ceiling-'));
  const children: Child[] = [];

  try {
    const followers = options.replication === 3 ? 2 : 0;
    const { client: clientPort, replication: replicationPort } = options.ports;
    const leaderArgs = [clientPort, replicationPort, followers, dir].map(String);
    children.push(await startChild('ceiling/leader.ts', leaderArgs));
    for (let id = 1; id <= followers; id++) {
      children.push(
        await startChild('ceiling/follower.ts', [String(replicationPort), dir, `${id}`]),
      );
    }

    const client = await Client.connect(clientPort);
    const throughputMBps = await client.pump(
      options.frameBytes,
      options.window,
      options.durationMs,
    );
    const latency = await client.oneAtATime(options.latencyFrameBytes, options.latencySamples);
    client.close();

    const { replication, frameBytes, window } = options;
    return { replication, frameBytes, window, throughputMBps, latency };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The producer's side: frames out, cumulative acks in. */
class Client {
  private nextSeq = 0;
  private ackedSeq = -1;
  private onAck: () => void = () => {};

  private constructor(private readonly socket: Socket) {
    const reader = new FrameReader();
    socket.on('data', (data) =>
      reader.push(data, (body) => {
        this.ackedSeq = body.readUInt32BE(0);
        this.onAck();
      }),
    );
  }

  static async connect(port: number): Promise<Client> {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    await once(socket, 'connect');
    return new Client(socket);
  }

  /** Keeps `window` frames in flight for `durationMs`; answers acknowledged MB/s. */
  async pump(frameBytes: number, window: number, durationMs: number): Promise<number> {
    const payload = Buffer.alloc(frameBytes, 0x77);
    const firstSeq = this.nextSeq;
    const started = nowMs();

    await new Promise<void>((done) => {
      this.onAck = () => {
        const acked = this.ackedSeq - firstSeq + 1;
        if (nowMs() - started >= durationMs && this.ackedSeq === this.nextSeq - 1) return done();
        if (nowMs() - started < durationMs) this.fill(payload, acked, window, firstSeq);
      };
      this.fill(payload, 0, window, firstSeq);
    });

    const frames = this.ackedSeq - firstSeq + 1;
    return mbPerSec(frames * frameBytes, nowMs() - started);
  }

  /** Sends `samples` frames one after another, each after the previous one's ack. */
  async oneAtATime(frameBytes: number, samples: number): Promise<LatencySummary> {
    const payload = Buffer.alloc(frameBytes, 0x6c);
    const latenciesMs: number[] = [];

    for (let i = 0; i < samples; i++) {
      const acked = new Promise<void>((done) => (this.onAck = done));
      const sentAt = nowMs();
      this.send(payload);
      await acked;
      latenciesMs.push(nowMs() - sentAt);
    }
    return summarizeLatencies(latenciesMs);
  }

  close(): void {
    this.socket.destroy();
  }

  private fill(payload: Buffer, acked: number, window: number, firstSeq: number): void {
    while (this.nextSeq - firstSeq - acked < window) this.send(payload);
  }

  private send(payload: Buffer): void {
    this.socket.cork();
    this.socket.write(clientFrameHeader(this.nextSeq++, payload.length));
    this.socket.write(payload);
    this.socket.uncork();
  }
}

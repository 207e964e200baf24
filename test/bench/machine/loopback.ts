// Loopback TCP between two Node processes: this process writes 64 KiB chunks as fast as the
// socket takes them, the sink process counts them and answers once it has them all. The figure
// bounds any design in which bytes cross a process boundary on this machine.
import { once } from 'node:events';
import { connect } from 'node:net';
import { MiB } from '../plan.ts';
import { startChild } from '../processes.ts';
import { mbPerSec, nowMs } from '../stats.ts';

export interface LoopbackFigures {
  loopbackMBps: number;
  loopbackBytes: number;
}

export async function measureLoopback(port: number, quick: boolean): Promise<LoopbackFigures> {
  const totalBytes = (quick ? 512 : 2048) * MiB;
  const sink = await startChild('machine/loopback-sink.ts', [String(port), String(totalBytes)]);

  try {
    const socket = connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    const answered = once(socket, 'data');

    const started = nowMs();
    await writeAll(socket, totalBytes);
    await answered;
    const elapsedMs = nowMs() - started;

    socket.destroy();
    return { loopbackMBps: mbPerSec(totalBytes, elapsedMs), loopbackBytes: totalBytes };
  } finally {
    await sink.stop();
  }
}

async function writeAll(socket: NodeJS.WritableStream, totalBytes: number): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 0x42);

  for (let sent = 0; sent < totalBytes; sent += chunk.length) {
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
}

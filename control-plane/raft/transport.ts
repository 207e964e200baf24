// Carries Raft messages between controllers over TCP: each controller listens on its raftPort and
// opens one connection to every peer for what it sends them. A frame is a 4-byte big-endian
// length and one encoded message. Delivery is best effort by design: a message that cannot go out
// now (no connection yet, or the peer is not reading) is dropped, and Raft sends again on its next
// heartbeat or probe, so a slow peer never makes the leader buffer without bound.
//
// Known shortcoming: connections are neither authenticated nor encrypted; the raft port must only
// be reachable by the other controllers.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Logger } from '../../shared/logger.ts';
import { decodeMessage, encodeMessage } from './codec.ts';
import type { ControllerId, Message } from './types.ts';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** What the Raft driver needs from a network. */
export interface RaftTransport {
  /** Best effort, never blocks; a message that cannot be sent now is dropped. */
  send(message: Message): void;
  onMessage(handler: (message: Message) => void): void;
  close(): Promise<void>;
}

export interface TcpTransportOptions {
  readonly id: ControllerId;
  readonly host: string;
  /** 0 picks a free port; `port` tells which. */
  readonly port: number;
  readonly peers: ReadonlyMap<ControllerId, PeerAddress>;
  readonly logger: Logger;
  /** Bytes queued on a connection beyond which further messages to that peer are dropped. */
  readonly maxBufferedBytes?: number;
  /** Least time between two connection attempts to one peer. */
  readonly reconnectDelayMs?: number;
}

const MAX_FRAME_BYTES = 256 * 1024 * 1024;
const LENGTH_BYTES = 4;

interface PeerLink {
  socket: Socket | null;
  connected: boolean;
  nextAttemptAtMs: number;
  /** Frames waiting for the connection being opened; bounded, the excess is dropped. */
  waiting: Buffer[];
}

const MAX_WAITING_FRAMES = 256;

export class TcpTransport implements RaftTransport {
  private readonly links = new Map<ControllerId, PeerLink>();
  private readonly inbound = new Set<Socket>();
  private handler: (message: Message) => void = () => {};
  private closed = false;

  private constructor(
    private readonly server: Server,
    private readonly options: TcpTransportOptions,
  ) {}

  static async listen(options: TcpTransportOptions): Promise<TcpTransport> {
    const server = createServer();
    const transport = new TcpTransport(server, options);
    server.on('connection', (socket) => transport.accept(socket));

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return transport;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : this.options.port;
  }

  onMessage(handler: (message: Message) => void): void {
    this.handler = handler;
  }

  send(message: Message): void {
    const link = this.link(message.to);
    if (link === null || this.closed) return;
    if (!link.connected) {
      this.connect(message.to, link);
      if (link.socket !== null && link.waiting.length < MAX_WAITING_FRAMES) {
        link.waiting.push(frame(encodeMessage(message)));
      }
      return;
    }

    const socket = link.socket!;
    if (socket.writableLength > (this.options.maxBufferedBytes ?? 16 * 1024 * 1024)) return;
    socket.write(frame(encodeMessage(message)));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) link.socket?.destroy();
    for (const socket of this.inbound) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private link(to: ControllerId): PeerLink | null {
    if (!this.options.peers.has(to)) return null;

    let link = this.links.get(to);
    if (link === undefined) {
      link = { socket: null, connected: false, nextAttemptAtMs: 0, waiting: [] };
      this.links.set(to, link);
    }
    return link;
  }

  private connect(to: ControllerId, link: PeerLink): void {
    const now = Date.now();
    if (link.socket !== null || now < link.nextAttemptAtMs) return;
    link.nextAttemptAtMs = now + (this.options.reconnectDelayMs ?? 200);

    const address = this.options.peers.get(to)!;
    const socket = connect({ host: address.host, port: address.port, noDelay: true });
    link.socket = socket;
    socket.on('connect', () => {
      link.connected = true;
      for (const waiting of link.waiting) socket.write(waiting);
      link.waiting = [];
      this.options.logger.info({ peer: to }, 'raft peer connected');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (link.connected) this.options.logger.info({ peer: to }, 'raft peer disconnected');
      link.socket = null;
      link.connected = false;
      link.waiting = [];
    });
    socket.on('data', () => {}); // nothing is expected back on an outbound connection
  }

  private accept(socket: Socket): void {
    this.inbound.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => this.inbound.delete(socket));

    const reader = new FrameReader((payload) => this.receive(socket, payload));
    socket.on('data', (chunk: Buffer) => {
      if (!reader.push(chunk)) {
        this.options.logger.warn({ remote: socket.remoteAddress }, 'raft frame too large, closing');
        socket.destroy();
      }
    });
  }

  private receive(socket: Socket, payload: Buffer): void {
    let message: Message;
    try {
      message = decodeMessage(payload);
    } catch (err) {
      this.options.logger.warn({ err, remote: socket.remoteAddress }, 'raft message refused');
      socket.destroy();
      return;
    }

    if (message.to !== this.options.id || !this.options.peers.has(message.from)) {
      this.options.logger.warn({ from: message.from, to: message.to }, 'raft message misaddressed');
      return;
    }
    this.handler(message);
  }
}

function frame(payload: Buffer): Buffer {
  const bytes = Buffer.allocUnsafe(LENGTH_BYTES + payload.length);
  bytes.writeUInt32BE(payload.length, 0);
  payload.copy(bytes, LENGTH_BYTES);
  return bytes;
}

/** Cuts a byte stream into length-prefixed frames. */
class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (payload: Buffer) => void) {}

  /** False when the stream announces a frame larger than allowed. */
  push(chunk: Buffer): boolean {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);

    while (this.pending.length >= LENGTH_BYTES) {
      const length = this.pending.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) return false;
      if (this.pending.length < LENGTH_BYTES + length) break;

      const payload = this.pending.subarray(LENGTH_BYTES, LENGTH_BYTES + length);
      this.pending = this.pending.subarray(LENGTH_BYTES + length);
      this.onFrame(payload);
    }
    return true;
  }
}

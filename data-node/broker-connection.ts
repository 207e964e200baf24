// A Kafka client connection from this data node to another one, used by the replica fetcher: it
// sends requests built by the shared codec and matches answers by correlation id. Requests may be
// pipelined; the other side answers in order. A request that gets no answer within its timeout
// closes the connection, failing every request on it, so a stopped or partitioned peer is noticed
// and the caller connects again (perhaps to a new address from the metadata).
import { connect, type Socket } from 'node:net';
import {
  decodeResponse,
  encodeRequest,
  type Encodable,
  type RequestBody,
  type ResponseBody,
} from '../shared/protocol/index.ts';
import { FrameReader } from './server.ts';

/** The connection failed or closed before an answer came. */
export class BrokerConnectionError extends Error {
  override name = 'BrokerConnectionError';
}

interface Pending {
  apiKey: number;
  apiVersion: number;
  timer: NodeJS.Timeout;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

/** Answers as large as a fetch of many partitions may be. */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export class BrokerConnection {
  private readonly frames = new FrameReader(MAX_RESPONSE_BYTES);
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private failure: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    private readonly clientId: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err) => this.fail(new BrokerConnectionError(err.message)));
    socket.on('close', () => this.fail(new BrokerConnectionError('connection closed')));
  }

  /** Connects, failing after `timeoutMs`. */
  static open(
    host: string,
    port: number,
    clientId: string,
    timeoutMs: number,
  ): Promise<BrokerConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new BrokerConnectionError(`connect to ${host}:${port} timed out`));
      }, timeoutMs);

      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new BrokerConnection(socket, clientId));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new BrokerConnectionError(`connect to ${host}:${port}: ${err.message}`));
      });
    });
  }

  get closed(): boolean {
    return this.failure !== null;
  }

  /** Sends a request; resolves with the decoded answer, rejects on failure or after `timeoutMs`. */
  send<K extends number>(
    apiKey: K,
    apiVersion: number,
    body: Encodable<RequestBody<K>>,
    timeoutMs: number,
  ): Promise<ResponseBody<K>> {
    if (this.failure !== null) return Promise.reject(this.failure);

    const correlationId = this.nextCorrelationId++;
    const bytes = encodeRequest(apiKey, apiVersion, correlationId, this.clientId, body);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new BrokerConnectionError(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const settle = { resolve: resolve as (b: unknown) => void, reject };
      this.pending.set(correlationId, { apiKey, apiVersion, timer, ...settle });
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.fail(new BrokerConnectionError('connection closed here'));
  }

  private receive(chunk: Buffer): void {
    try {
      for (const frame of this.frames.push(chunk)) this.answer(frame);
    } catch (err) {
      this.fail(new BrokerConnectionError(`bad answer: ${(err as Error).message}`));
    }
  }

  private answer(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const pending = this.pending.get(correlationId);
    if (pending === undefined) throw new Error(`unexpected correlation id ${correlationId}`);

    this.pending.delete(correlationId);
    clearTimeout(pending.timer);
    pending.resolve(decodeResponse(pending.apiKey, pending.apiVersion, frame).body);
  }

  private fail(err: Error): void {
    if (this.failure === null) this.failure = err;
    this.socket.destroy();

    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(this.failure);
    }
    this.pending.clear();
  }
}

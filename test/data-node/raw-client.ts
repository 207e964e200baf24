// A bare Kafka connection for tests: sends requests built by Weir's codec (or raw bytes) and
// decodes the answers, so a test can check exactly what the broker put on the wire.
import { connect, type Socket } from 'node:net';
import { FrameReader } from '../../data-node/server.ts';
import {
  decodeResponse,
  encodeRequest,
  type Encodable,
  type RequestBody,
  type ResponseBody,
} from '../../shared/protocol/index.ts';

interface Pending {
  apiKey: number;
  apiVersion: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

export class RawKafkaClient {
  private readonly frames = new FrameReader(512 * 1024 * 1024);
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  /** Resolves when the broker (or we) closed the connection. */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.frames.push(chunk)) this.receive(frame);
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    void this.closed.then(() => {
      for (const p of this.pending.values()) p.reject(new Error('connection closed'));
      this.pending.clear();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawKafkaClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(new RawKafkaClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends a request and resolves with the decoded response body. */
  send<K extends number>(
    apiKey: K,
    apiVersion: number,
    body: Encodable<RequestBody<K>>,
  ): Promise<ResponseBody<K>> {
    const correlationId = this.nextCorrelationId++;
    const bytes = encodeRequest(apiKey, apiVersion, correlationId, 'weir-test', body);
    return this.expect(correlationId, apiKey, apiVersion, () => this.socket.write(bytes));
  }

  /** Sends bytes as they are (size prefix included by the caller). */
  sendBytes(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends a request for which no answer is expected (acks=0). */
  sendOnly<K extends number>(apiKey: K, apiVersion: number, body: Encodable<RequestBody<K>>): void {
    this.socket.write(
      encodeRequest(apiKey, apiVersion, this.nextCorrelationId++, 'weir-test', body),
    );
  }

  /** Registers an expected answer for a frame written by `write`, e.g. hand-made bytes. */
  expect<K extends number>(
    correlationId: number,
    apiKey: K,
    apiVersion: number,
    write: () => void,
  ): Promise<ResponseBody<K>> {
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, {
        apiKey,
        apiVersion,
        resolve: resolve as (b: unknown) => void,
        reject,
      });
      write();
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const pending = this.pending.get(correlationId);
    if (pending === undefined) throw new Error(`unexpected correlation id ${correlationId}`);

    this.pending.delete(correlationId);
    pending.resolve(decodeResponse(pending.apiKey, pending.apiVersion, frame).body);
  }
}

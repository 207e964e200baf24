// The data node's HTTP client for the control plane: registration, heartbeats, the metadata long
// poll, ISR changes of partition leaders, producer id blocks, controlled shutdown, and the admin
// calls that Kafka clients reach through us (topic creation and deletion).
// It knows a list of controllers and moves to the next one when a controller cannot be reached or
// says it cannot serve (5xx, e.g. not the Raft leader); any other answer, success or problem, is
// the cluster's answer.
import { z } from 'zod';
import { MetadataResponse, PartitionRecord } from '../shared/cluster-metadata.ts';
import type {
  HeartbeatRequest,
  PresenceRequest,
  RegisterRequest,
} from '../shared/data-node-api.ts';
import type { Logger } from '../shared/logger.ts';

/** A refusal from a controller, parsed from its problem+json body. */
export class ControllerProblem extends Error {
  override name = 'ControllerProblem';

  constructor(
    readonly status: number,
    readonly detail: string,
    readonly kafkaErrorCode: number | undefined,
    readonly field: string | undefined,
  ) {
    super(`controller answered ${status}: ${detail}`);
  }
}

/** No controller in the list answered (all unreachable or unavailable). */
export class ControllerUnavailable extends Error {
  override name = 'ControllerUnavailable';
}

const ProblemBody = z.looseObject({
  title: z.string().optional(),
  detail: z.string().optional(),
  field: z.string().optional(),
  kafkaErrorCode: z.number().int().optional(),
});

export const RegisterResponse = z.looseObject({
  brokerEpoch: z.number().int(),
  clusterId: z.string(),
});
export type RegisterResponse = z.infer<typeof RegisterResponse>;

/** A partition leader's ISR change; the epochs fence it against newer changes. */
export interface ChangeIsrRequest {
  nodeId: number;
  brokerEpoch: number;
  leaderEpoch: number;
  partitionEpoch: number;
  isr: number[];
}

export const ChangeIsrResponse = PartitionRecord.extend({ metadataVersion: z.number().int() });
export type ChangeIsrResponse = z.infer<typeof ChangeIsrResponse>;

/** A block of producer ids for this node to hand out: [firstProducerId, + count). */
export const ProducerIdBlock = z.looseObject({
  firstProducerId: z.string().regex(/^\d+$/),
  count: z.number().int().positive(),
});
export type ProducerIdBlock = z.infer<typeof ProducerIdBlock>;

export const ShutdownResponse = z.looseObject({
  metadataVersion: z.number().int(),
  changedPartitions: z.number().int(),
});
export type ShutdownResponse = z.infer<typeof ShutdownResponse>;

export interface CreateTopicRequest {
  name: string;
  partitions?: number;
  replicationFactor?: number;
  configs: Record<string, string>;
}

/** What the admin API tells about a topic; only the fields the data node reads are required. */
export const TopicDescription = z.looseObject({
  name: z.string(),
  topicId: z.string().optional(),
  partitions: z.array(z.unknown()).optional(),
  replicationFactor: z.number().int().optional(),
  configs: z.record(z.string(), z.string()).optional(),
  metadataVersion: z.number().int().optional(),
});
export type TopicDescription = z.infer<typeof TopicDescription>;

interface CallOptions {
  body?: unknown;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/**
 * How late a held request (the metadata long poll, the presence request) may be answered before
 * the controller is taken as frozen and the next one is tried.
 */
const HELD_ANSWER_MARGIN_MS = 2_000;

export class ControllerClient {
  /** Index of the controller that answered last; calls start there. */
  private current = 0;

  constructor(
    private readonly urls: readonly string[],
    private readonly logger: Logger,
  ) {
    if (urls.length === 0) throw new Error('at least one controller url is required');
  }

  async register(request: RegisterRequest): Promise<RegisterResponse> {
    const body = await this.call('POST', '/internal/v1/data-nodes/register', { body: request });
    return RegisterResponse.parse(body);
  }

  async heartbeat(request: HeartbeatRequest, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await this.call('POST', '/internal/v1/data-nodes/heartbeat', { body: request, timeoutMs });
  }

  /**
   * The presence request: the leader controller holds it for `holdMs`. Only its end matters (see
   * control-plane/http/presence-routes.ts).
   */
  async presence(request: PresenceRequest, signal: AbortSignal): Promise<void> {
    const timeoutMs = request.holdMs + HELD_ANSWER_MARGIN_MS;
    await this.call('POST', '/internal/v1/data-nodes/presence', {
      body: request,
      timeoutMs,
      signal,
    });
  }

  /** Long poll: answers once changes exist after `since`, or after about `waitMs` without any. */
  async metadata(since: number, waitMs: number, signal?: AbortSignal): Promise<MetadataResponse> {
    const path = `/internal/v1/metadata?since=${since}&waitMs=${waitMs}`;
    const timeoutMs = waitMs + HELD_ANSWER_MARGIN_MS;
    const body = await this.call('GET', path, { timeoutMs, signal });
    return MetadataResponse.parse(body);
  }

  async changeIsr(
    topic: string,
    partition: number,
    request: ChangeIsrRequest,
  ): Promise<ChangeIsrResponse> {
    const path = `/internal/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/isr`;
    return ChangeIsrResponse.parse(await this.call('POST', path, { body: request }));
  }

  /** A new block of producer ids, unique in the cluster (InitProducerId). */
  async allocateProducerIds(nodeId: number): Promise<ProducerIdBlock> {
    const body = { nodeId };
    return ProducerIdBlock.parse(await this.call('POST', '/internal/v1/producer-ids', { body }));
  }

  /** Controlled shutdown: this node's leaderships move to other ISR members. */
  async shutdown(
    nodeId: number,
    brokerEpoch: number,
    timeoutMs: number,
  ): Promise<ShutdownResponse> {
    const body = { nodeId, brokerEpoch };
    const path = '/internal/v1/data-nodes/shutdown';
    // One bound for the whole call, however many controllers it tries.
    const signal = AbortSignal.timeout(timeoutMs);
    return ShutdownResponse.parse(await this.call('POST', path, { body, timeoutMs, signal }));
  }

  async createTopic(request: CreateTopicRequest, validateOnly: boolean): Promise<TopicDescription> {
    const path = validateOnly ? '/v1/topics?validateOnly=true' : '/v1/topics';
    return TopicDescription.parse(await this.call('POST', path, { body: request }));
  }

  async deleteTopic(name: string): Promise<void> {
    await this.call('DELETE', `/v1/topics/${encodeURIComponent(name)}`);
  }

  async createPartitions(name: string, count: number, validateOnly: boolean): Promise<void> {
    const query = validateOnly ? '?validateOnly=true' : '';
    const path = `/v1/topics/${encodeURIComponent(name)}/partitions${query}`;
    await this.call('POST', path, { body: { count } });
  }

  /** A raw call for other parts of the data node (the group coordinator's offset store). */
  async call(method: string, path: string, options: CallOptions = {}): Promise<unknown> {
    let lastError: unknown;

    for (let attempt = 0; attempt < this.urls.length; attempt++) {
      const index = (this.current + attempt) % this.urls.length;
      const url = this.urls[index] + path;
      try {
        const answer = await this.send(method, url, options);
        this.current = index;
        return answer;
      } catch (err) {
        if (options.signal?.aborted) throw err;
        if (err instanceof ControllerProblem && err.status < 500) throw err;
        lastError = err;
        this.logger.debug({ url, err: String(err) }, 'controller did not answer');
      }
    }

    // Every controller failed; a problem one of them described says more than "unavailable".
    if (lastError instanceof ControllerProblem) throw lastError;
    throw new ControllerUnavailable(
      `no controller answered ${method} ${path}: ${String(lastError)}`,
    );
  }

  private async send(method: string, url: string, options: CallOptions): Promise<unknown> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const init: RequestInit = { method, signal };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'content-type': 'application/json' };
    }

    const response = await fetch(url, init);
    const text = await response.text();
    const body: unknown = text.length > 0 ? parseJson(text) : undefined;

    // A 5xx (not the leader, shutting down, a retriable failure) makes `call` try another one.
    if (!response.ok) throw toProblem(response.status, body);
    return body;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}

function toProblem(status: number, body: unknown): ControllerProblem {
  const parsed = ProblemBody.safeParse(body);
  const problem = parsed.success ? parsed.data : {};
  const detail = problem.detail ?? problem.title ?? `status ${status}`;
  return new ControllerProblem(status, detail, problem.kafkaErrorCode, problem.field);
}

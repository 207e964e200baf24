// A data node process: it registers with the control plane under a fresh incarnation id, keeps
// heartbeating, follows the committed cluster metadata, holds the partition replicas assigned to
// it (replicating them: fetchers for followed partitions, ISR changes for led ones), and serves
// the Kafka protocol. Signals and process exit belong to the CLI; `stop()` here first asks the
// controller to move this node's leaderships away (controlled shutdown), then closes the
// listener, the metadata poll, the fetchers and every partition log.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterSnapshot } from '../shared/cluster-metadata.ts';
import type { Logger } from '../shared/logger.ts';
import { dataNodeConfigSchema, type DataNodeConfig } from './config.ts';
import { ControllerClient, ControllerProblem, type RegisterResponse } from './controller-client.ts';
import { Dispatcher } from './dispatcher.ts';
import { ControllerOffsetStore } from './groups/offset-store.ts';
import { GroupCoordinator } from './groups/coordinator.ts';
import type { NodeContext } from './handlers/context.ts';
import { EMPTY_SNAPSHOT, MetadataFollower } from './metadata-follower.ts';
import type { IsrChangeOutcome, PartitionIdentity, ReplicationPort } from './partition.ts';
import { ProducerIdAllocator } from './producer-ids.ts';
import { ReplicaFetchers } from './replica-fetcher.ts';
import { ReplicaManager } from './replica-manager.ts';
import type { IsrChangeRequest } from './replication/leader-state.ts';
import { KafkaServer } from './server.ts';

export { dataNodeConfigSchema, type DataNodeConfig };

export interface RunningDataNode {
  /** The Kafka port actually bound (differs from the config when it asked for 0). */
  readonly kafkaPort: number;
  readonly incarnationId: string;
  stop(): Promise<void>;
}

const REGISTER_BACKOFF_MS = 500;
/** How long the leader controller holds each presence request before answering it. */
const PRESENCE_HOLD_MS = 20_000;
const NODE_FILE = 'node.json';

export async function startDataNode(
  config: DataNodeConfig,
  logger: Logger,
): Promise<RunningDataNode> {
  const incarnationId = randomUUID();
  // The caller's logger already names the node (the CLI binds role and node id).
  const log = logger.child({ incarnationId });
  await mkdir(config.dataDir, { recursive: true });

  const controller = new ControllerClient(
    config.controllers,
    log.child({ component: 'controller' }),
  );
  let follower: MetadataFollower | null = null;
  let node: NodeLifecycle | null = null;
  const metadata = () => follower?.current() ?? EMPTY_SNAPSHOT;
  // Replication reads the view being applied: it becomes `current` only once applied, and the
  // partitions it makes followers start fetching before that.
  let applying: ClusterSnapshot = EMPTY_SNAPSHOT;
  const replicationView = () => applying;

  // The fetchers read the partitions, and the partitions wake the fetchers: bound late.
  let fetchers: ReplicaFetchers | null = null;
  const port: ReplicationPort = {
    changeIsr: (id, request) => sendIsrChange(controller, config.nodeId, node, id, request),
    eligibleToJoin: (id) => applying.dataNodes.some((n) => n.nodeId === id && !n.fenced),
    followerReady: () => fetchers?.update(),
  };
  const replicas = new ReplicaManager(
    {
      nodeId: config.nodeId,
      dataDir: config.dataDir,
      log: { fsync: config.fsync, retentionCheckIntervalMs: config.retentionCheckIntervalMs },
      replication: {
        replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
        isrResendMs: ISR_RESEND_MS,
        port,
      },
      onApplied: () => fetchers?.update(),
    },
    log.child({ component: 'replicas' }),
  );
  fetchers = new ReplicaFetchers({
    nodeId: config.nodeId,
    partitions: () => replicas.all(),
    metadata: replicationView,
    fetchWaitMaxMs: config.replicaFetchWaitMaxMs,
    fetchMaxBytes: config.replicaFetchMaxBytes,
    requestTimeoutMs: config.replicaRequestTimeoutMs,
    retryBackoffMs: config.replicaFetchBackoffMs,
    logger: log.child({ component: 'fetcher' }),
  });

  const context: NodeContext = {
    nodeId: config.nodeId,
    config,
    replicas,
    controller,
    logger: log,
    producerIds: new ProducerIdAllocator(() => controller.allocateProducerIds(config.nodeId)),
    metadata,
    awaitMetadata: (until, timeoutMs) =>
      follower?.waitUntil(until, timeoutMs) ?? Promise.resolve(false),
  };
  const groups = new GroupCoordinator({
    nodeId: config.nodeId,
    logger: log,
    metadata: context.metadata,
    offsets: new ControllerOffsetStore(controller),
    settings: { connectionLossGraceMs: config.groupMemberConnectionLossGraceMs },
  });
  const dispatcher = new Dispatcher(context, groups, log.child({ component: 'dispatcher' }));

  const server = await KafkaServer.listen(
    {
      host: config.host,
      port: config.kafkaPort,
      maxRequestBytes: config.maxRequestBytes,
      maxQueuedRequestBytes: config.maxQueuedRequestBytes,
      maxConnections: config.maxConnections,
      requestReadTimeoutMs: config.requestReadTimeoutMs,
      connectionIdleTimeoutMs: config.connectionIdleTimeoutMs,
      onConnectionClosed: (connectionId) => groups.connectionClosed(connectionId),
    },
    dispatcher.handle,
    log.child({ component: 'server' }),
  );
  const stopping = new AbortController();
  const lifecycle = new NodeLifecycle(
    config,
    incarnationId,
    server.port,
    controller,
    replicas,
    log,
  );
  node = lifecycle;

  try {
    await lifecycle.register(stopping.signal);
    follower = new MetadataFollower(
      controller,
      log.child({ component: 'metadata' }),
      { pollWaitMs: config.metadataPollWaitMs, retryBackoffMs: REGISTER_BACKOFF_MS },
      async (view) => {
        applying = view;
        await lifecycle.applyView(view);
        // Groups whose coordinator moved elsewhere are unloaded now, not at their next request.
        groups.onMetadataChange();
      },
    );
    await follower.start();
  } catch (err) {
    stopping.abort();
    await follower?.stop();
    await server.close();
    await fetchers.stop();
    await replicas.close();
    throw err;
  }

  const heartbeating = new AbortController();
  const heartbeats = lifecycle.heartbeatForever(
    AbortSignal.any([stopping.signal, heartbeating.signal]),
  );
  // Kept open until the very end: closing it early would have this node fenced as if it died.
  const presence = lifecycle.presenceForever(stopping.signal);
  dispatcher.open();
  log.info({ kafkaPort: server.port }, 'data node started');

  const stop = async () => {
    // Heartbeats stop first: one arriving after the shutdown command would unfence this node.
    heartbeating.abort();
    await heartbeats;
    await lifecycle.controlledShutdown(follower!, config.controlledShutdownTimeoutMs);

    stopping.abort();
    await presence;
    await server.close();
    await follower?.stop();
    await fetchers.stop();
    groups.close();
    await replicas.close();
    log.info('data node stopped');
  };
  let stopped: Promise<void> | null = null;

  return {
    kafkaPort: server.port,
    incarnationId,
    stop: () => (stopped ??= stop()),
  };
}

/** How often an ISR change the controller has not answered is sent again. */
const ISR_RESEND_MS = 1000;

/** Sends a leader's ISR change; a refusal with a Kafka code is an answer, anything else throws. */
async function sendIsrChange(
  controller: ControllerClient,
  nodeId: number,
  node: NodeLifecycle | null,
  id: PartitionIdentity,
  request: IsrChangeRequest,
): Promise<IsrChangeOutcome> {
  const { leaderEpoch, partitionEpoch, isr } = request;
  const brokerEpoch = node?.currentBrokerEpoch ?? -1;
  try {
    const body = { nodeId, brokerEpoch, leaderEpoch, partitionEpoch, isr };
    const answer = await controller.changeIsr(id.topic, id.partition, body);
    return { kind: 'committed', ...answer };
  } catch (err) {
    if (!(err instanceof ControllerProblem) || err.kafkaErrorCode === undefined) throw err;
    return { kind: 'refused', errorCode: err.kafkaErrorCode, message: err.detail };
  }
}

/** Registration, heartbeats, controlled shutdown, and keeping a data dir to one cluster. */
class NodeLifecycle {
  private brokerEpoch = -1;
  private clusterId: string | null = null;
  private recovered = false;

  constructor(
    private readonly config: DataNodeConfig,
    private readonly incarnationId: string,
    private readonly kafkaPort: number,
    private readonly controller: ControllerClient,
    private readonly replicas: ReplicaManager,
    private readonly logger: Logger,
  ) {}

  /** Registers, trying the controllers in turn until one accepts or `signal` aborts. */
  async register(signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        const answer = await this.controller.register({
          nodeId: this.config.nodeId,
          host: this.config.advertisedHost ?? this.config.host,
          kafkaPort: this.kafkaPort,
          rack: this.config.rack ?? null,
          incarnationId: this.incarnationId,
        });
        await this.accept(answer);
        return;
      } catch (err) {
        if (err instanceof ClusterMismatch || signal.aborted) throw err;
        this.logger.warn({ err: String(err) }, 'registration failed');
      }
      await sleep(REGISTER_BACKOFF_MS, undefined, { signal });
    }
  }

  get currentBrokerEpoch(): number {
    return this.brokerEpoch;
  }

  /**
   * Asks the controller to move this node's leaderships to other ISR members and take it out of
   * every ISR (the node is fenced until it registers again), then waits until this node's view
   * shows that, so the partitions led here have resigned and their clients went elsewhere.
   * Bounded by `timeoutMs`; a controller that cannot be reached only makes the stop abrupt.
   */
  async controlledShutdown(follower: MetadataFollower, timeoutMs: number): Promise<void> {
    if (timeoutMs <= 0 || this.brokerEpoch < 0) return;
    const deadline = Date.now() + timeoutMs;

    try {
      const answer = await this.controller.shutdown(
        this.config.nodeId,
        this.brokerEpoch,
        timeoutMs,
      );
      const reached = await follower.waitUntil(
        (view) => view.version >= answer.metadataVersion,
        Math.max(0, deadline - Date.now()),
      );
      const fields = { changedPartitions: answer.changedPartitions, reached };
      this.logger.info(fields, 'controlled shutdown done');
    } catch (err) {
      this.logger.warn({ err: String(err) }, 'controlled shutdown failed');
    }
  }

  /** The first view recovers what is on disk; later ones only reconcile. */
  async applyView(view: ClusterSnapshot): Promise<void> {
    if (this.recovered) return this.replicas.apply(view);
    this.recovered = true;
    await this.replicas.recover(view);
  }

  async heartbeatForever(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.config.heartbeatIntervalMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      await this.heartbeatOnce(signal);
    }
  }

  /**
   * Keeps one presence request open at the leader controller, opening the next as soon as one is
   * answered. If this process dies its kernel closes the connection, and the controller fences
   * this node within a short grace instead of a whole session timeout.
   */
  async presenceForever(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.controller.presence(
          { nodeId: this.config.nodeId, brokerEpoch: this.brokerEpoch, holdMs: PRESENCE_HOLD_MS },
          signal,
        );
      } catch (err) {
        if (signal.aborted) return;
        // Refused (registering again is the heartbeat's job) or no leader yet: try again soon.
        this.logger.debug({ err: String(err) }, 'presence request failed');
        await sleep(REGISTER_BACKOFF_MS, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  private async heartbeatOnce(signal: AbortSignal): Promise<void> {
    const partitions = this.replicas.all().map((p) => ({
      topic: p.id.topic,
      partition: p.id.partition,
      logEndOffset: String(p.logEndOffset),
      sizeBytes: p.sizeBytes,
    }));

    try {
      const request = { nodeId: this.config.nodeId, brokerEpoch: this.brokerEpoch, partitions };
      await this.controller.heartbeat(request, this.config.heartbeatTimeoutMs);
    } catch (err) {
      // A refused heartbeat means the controller no longer knows us under this broker epoch
      // (fenced, or it lost our registration): register again to get a new one.
      if (err instanceof ControllerProblem && (err.status === 404 || err.status === 409)) {
        this.logger.warn({ detail: err.detail }, 'heartbeat refused, registering again');
        await this.register(signal).catch(() => undefined);
        return;
      }
      this.logger.warn({ err: String(err) }, 'heartbeat failed');
    }
  }

  private async accept(answer: RegisterResponse): Promise<void> {
    await this.checkCluster(answer.clusterId);
    this.brokerEpoch = answer.brokerEpoch;
    this.clusterId = answer.clusterId;
    this.logger.info(
      { brokerEpoch: answer.brokerEpoch, clusterId: answer.clusterId },
      'registered',
    );
  }

  /**
   * Remembers the cluster id in the data dir at first start and refuses any other later, so a
   * node pointed at the wrong controllers never deletes partitions that this cluster lacks.
   */
  private async checkCluster(clusterId: string): Promise<void> {
    if (this.clusterId === clusterId) return;

    const path = join(this.config.dataDir, NODE_FILE);
    const stored = await readFile(path, 'utf8').then(
      (text) => (JSON.parse(text) as { clusterId?: string }).clusterId,
      () => undefined,
    );
    if (stored === undefined) {
      await writeFile(path, JSON.stringify({ clusterId, nodeId: this.config.nodeId }) + '\n');
      return;
    }
    if (stored !== clusterId) {
      throw new ClusterMismatch(
        `data dir ${this.config.dataDir} belongs to cluster ${stored}, controllers serve ${clusterId}`,
      );
    }
  }
}

class ClusterMismatch extends Error {
  override name = 'ClusterMismatch';
}

// The partitions this data node holds replicas of, kept in step with the cluster metadata: each
// new metadata view opens the partitions newly assigned here (creating their directories), hands
// every held partition its leader, epoch and ISR, and deletes the partitions whose topic is gone
// or whose replica moved away. Each partition directory carries a small marker naming its topic
// id, so a topic deleted and created again under the same name never reuses old data. A timer
// drives the leaders' periodic replication work (acks=all deadlines, ISR shrinking). A partition
// that fails to open (a full disk, a permission problem) is tried again with the latest view after
// a backoff, so it comes back once the cause is fixed without waiting for a metadata change.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { ClusterSnapshot, PartitionRecord, TopicRecord } from '../shared/cluster-metadata.ts';
import { partitionKey } from '../shared/ids.ts';
import type { Logger } from '../shared/logger.ts';
import { PartitionLog } from './log/partition-log.ts';
import { Partition, type PartitionIdentity, type ReplicationOptions } from './partition.ts';
import { logConfigFor, partitionSettingsFor, type NodeLogSettings } from './topic-settings.ts';

const MARKER_FILE = 'partition.json';

const Marker = z.object({ topic: z.string(), topicId: z.string(), partition: z.number().int() });

export interface ReplicaManagerOptions {
  nodeId: number;
  dataDir: string;
  log: NodeLogSettings;
  /** How partitions replicate; without it they cannot reach a controller (tests). */
  replication?: ReplicationOptions;
  /** Called after each view is applied: the replica fetchers regroup. */
  onApplied?: () => void;
  /** First wait before a failed partition open is tried again; it doubles up to 30 s. */
  openRetryMs?: number;
}

/** How often leaders expire acks=all waits, check their followers' lag and resend ISR changes. */
const REPLICATION_TICK_MS = 100;
const OPEN_RETRY_MS = 1000;
const OPEN_RETRY_MS_MAX = 30_000;

interface Assignment {
  topic: TopicRecord;
  record: PartitionRecord;
}

export class ReplicaManager {
  private readonly partitions = new Map<string, Partition>();
  private retentionTimer: NodeJS.Timeout | null = null;
  private replicationTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Applies run one at a time, in call order: the metadata follower's and the retry timer's. */
  private applying: Promise<void> = Promise.resolve();
  private latestView: ClusterSnapshot | null = null;
  private openRetry: NodeJS.Timeout | null = null;
  private openRetryDelayMs: number;

  constructor(
    private readonly options: ReplicaManagerOptions,
    private readonly logger: Logger,
  ) {
    this.openRetryDelayMs = options.openRetryMs ?? OPEN_RETRY_MS;
  }

  get(topic: string, partition: number): Partition | undefined {
    return this.partitions.get(partitionKey(topic, partition));
  }

  all(): Partition[] {
    return [...this.partitions.values()];
  }

  /**
   * Opens the partitions found on disk that the view still assigns here and deletes the others.
   * Called once, with the first view, before any Kafka request is served.
   */
  async recover(view: ClusterSnapshot): Promise<void> {
    const assigned = this.assignments(view);
    await mkdir(this.options.dataDir, { recursive: true });

    for (const found of await this.scanDataDir()) {
      const key = partitionKey(found.marker.topic, found.marker.partition);
      const wanted = assigned.get(key);
      if (wanted !== undefined && wanted.topic.topicId === found.marker.topicId) continue;

      this.logger.info(
        { dir: found.dir, topicId: found.marker.topicId },
        'deleting stale partition',
      );
      await rm(found.dir, { recursive: true, force: true });
    }

    await this.apply(view);
    this.scheduleRetention();
    this.scheduleReplication();
  }

  /** Brings the held partitions in line with a new view, after any apply still running. */
  apply(view: ClusterSnapshot): Promise<void> {
    this.latestView = view;
    const run = this.applying.then(() => this.applyNow(view));
    this.applying = run.catch(() => undefined);
    return run;
  }

  private async applyNow(view: ClusterSnapshot): Promise<void> {
    if (this.closed) return;
    const assigned = this.assignments(view);

    for (const [key, partition] of this.partitions) {
      const wanted = assigned.get(key);
      if (wanted === undefined || wanted.topic.topicId !== partition.id.topicId) {
        await this.remove(key, partition);
      }
    }

    let failedOpens = 0;
    for (const [key, { topic, record }] of assigned) {
      const partition = this.partitions.get(key) ?? (await this.open(key, topic, record));
      if (partition === undefined) failedOpens++;
      await partition?.applyMetadata(record, partitionSettingsFor(topic));
    }

    this.scheduleOpenRetry(failedOpens);
    this.options.onApplied?.();
  }

  /** After failed opens, applies the latest view again later; backs off while they keep failing. */
  private scheduleOpenRetry(failedOpens: number): void {
    if (failedOpens === 0) {
      this.openRetryDelayMs = this.options.openRetryMs ?? OPEN_RETRY_MS;
      return;
    }
    if (this.openRetry !== null || this.closed) return;

    const delayMs = this.openRetryDelayMs;
    this.openRetryDelayMs = Math.min(delayMs * 2, OPEN_RETRY_MS_MAX);
    this.openRetry = setTimeout(() => {
      this.openRetry = null;
      if (this.latestView !== null) void this.apply(this.latestView).catch(() => undefined);
    }, delayMs);
    this.openRetry.unref();
    this.logger.info({ failedOpens, retryInMs: delayMs }, 'partition opens will be retried');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.openRetry !== null) clearTimeout(this.openRetry);
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    if (this.replicationTimer !== null) clearInterval(this.replicationTimer);

    const open = [...this.partitions.values()];
    this.partitions.clear();
    await Promise.all(open.map((p) => p.close()));
  }

  private assignments(view: ClusterSnapshot): Map<string, Assignment> {
    const assigned = new Map<string, Assignment>();
    for (const topic of view.topics) {
      for (const record of topic.partitions) {
        if (!record.replicas.includes(this.options.nodeId)) continue;
        assigned.set(partitionKey(topic.name, record.partition), { topic, record });
      }
    }
    return assigned;
  }

  private async open(
    key: string,
    topic: TopicRecord,
    record: PartitionRecord,
  ): Promise<Partition | undefined> {
    const id: PartitionIdentity = {
      topic: topic.name,
      topicId: topic.topicId,
      partition: record.partition,
    };
    const dir = this.partitionDir(topic.name, record.partition);
    const logger = this.logger.child({ topic: id.topic, partition: id.partition });

    try {
      await mkdir(dir, { recursive: true });
      await writeMarker(dir, id);
      const log = await PartitionLog.open(dir, logConfigFor(topic, this.options.log), logger);
      const settings = partitionSettingsFor(topic);
      const { nodeId, replication } = this.options;
      const partition = replication
        ? await Partition.open(id, nodeId, log, settings, this.logger, replication)
        : Partition.create(id, nodeId, log, settings, this.logger);

      this.partitions.set(key, partition);
      logger.info({ logEndOffset: String(log.logEndOffset) }, 'partition opened');
      return partition;
    } catch (err) {
      // Left closed: tried again after a backoff; meanwhile clients see a retriable error.
      logger.error({ err }, 'cannot open partition');
      return undefined;
    }
  }

  private async remove(key: string, partition: Partition): Promise<void> {
    this.partitions.delete(key);
    try {
      await partition.delete();
    } catch (err) {
      this.logger.error({ err, key }, 'cannot delete partition log');
    }
    await rm(this.partitionDir(partition.id.topic, partition.id.partition), {
      recursive: true,
      force: true,
    });
    this.logger.info(
      { topic: partition.id.topic, partition: partition.id.partition },
      'partition deleted',
    );
  }

  private partitionDir(topic: string, partition: number): string {
    return join(this.options.dataDir, `${topic}-${partition}`);
  }

  private async scanDataDir(): Promise<{ dir: string; marker: z.infer<typeof Marker> }[]> {
    const found = [];
    for (const entry of await readdir(this.options.dataDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(this.options.dataDir, entry.name);
      const marker = await readMarker(dir);
      if (marker !== null) found.push({ dir, marker });
    }
    return found;
  }

  private scheduleRetention(): void {
    const run = () => {
      const now = Date.now();
      for (const partition of this.partitions.values()) {
        partition.applyRetention(now).catch((err: unknown) => {
          this.logger.error({ err, topic: partition.id.topic }, 'retention failed');
        });
      }
    };
    this.retentionTimer = setInterval(run, this.options.log.retentionCheckIntervalMs);
    this.retentionTimer.unref();
  }

  private scheduleReplication(): void {
    const run = () => {
      const now = Date.now();
      for (const partition of this.partitions.values()) partition.tick(now);
    };
    this.replicationTimer = setInterval(run, REPLICATION_TICK_MS);
    this.replicationTimer.unref();
  }
}

async function writeMarker(dir: string, id: PartitionIdentity): Promise<void> {
  const path = join(dir, MARKER_FILE);
  if (existsSync(path)) return;
  const marker = { topic: id.topic, topicId: id.topicId, partition: id.partition };
  await writeFile(path, JSON.stringify(marker) + '\n');
}

/** The marker of a partition directory, or null for anything else found in the data dir. */
async function readMarker(dir: string): Promise<z.infer<typeof Marker> | null> {
  try {
    const parsed = Marker.safeParse(JSON.parse(await readFile(join(dir, MARKER_FILE), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

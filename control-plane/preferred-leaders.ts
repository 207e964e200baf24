// Moves partition leadership back to preferred replicas (the first of each replica list), as
// Kafka's automatic leader rebalance does: after a data node restarts and catches up, the leader
// controller sees it back in the ISR and proposes a preferred election for those partitions, so
// leadership (and its load) spreads as placement intended. The election itself is the
// electLeaders command; this module only decides when to propose it, on the leader controller.
import type { PartitionRecord, TopicRecord } from '../shared/cluster-metadata.ts';
import type { Logger } from '../shared/logger.ts';
import type { CommandLog } from './command-log.ts';
import type { StateDb } from './db/database.ts';
import { readDataNodes, readTopics } from './db/queries.ts';

export interface PreferredLeaderOptions {
  db: StateDb;
  log: CommandLog;
  /** How often the leader controller looks for partitions led elsewhere than preferred. */
  intervalMs: number;
  logger: Logger;
}

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

/** Partitions whose preferred replica could lead now (in the ISR, unfenced) and does not. */
export function partitionsAwayFromPreferred(
  topics: readonly TopicRecord[],
  eligible: (nodeId: number) => boolean,
): TopicPartitionRef[] {
  const away: TopicPartitionRef[] = [];
  for (const topic of topics) {
    for (const p of topic.partitions) {
      if (canMoveToPreferred(p, eligible)) away.push({ topic: topic.name, partition: p.partition });
    }
  }
  return away;
}

function canMoveToPreferred(p: PartitionRecord, eligible: (nodeId: number) => boolean): boolean {
  const preferred = p.replicas[0];
  if (preferred === undefined || p.leader === preferred) return false;
  return p.isr.includes(preferred) && eligible(preferred);
}

export class PreferredLeaderBalancer {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly options: PreferredLeaderOptions) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look, on the leader only; resolves once any election it proposed is applied. */
  async check(): Promise<void> {
    const { db, log, logger } = this.options;
    if (this.running || !log.isLeader()) return;

    const live = new Set(
      readDataNodes(db)
        .filter((n) => !n.fenced)
        .map((n) => n.nodeId),
    );
    const partitions = partitionsAwayFromPreferred(readTopics(db), (id) => live.has(id));
    if (partitions.length === 0) return;

    this.running = true;
    try {
      const result = await log.propose({ type: 'electLeaders', election: 'preferred', partitions });
      const moved = result.ok ? result.value.results.filter((r) => r.errorCode === 0).length : 0;
      logger.info({ partitions: partitions.length, moved }, 'preferred leaders elected');
    } catch (err) {
      logger.warn({ err: String(err) }, 'preferred leader election failed');
    } finally {
      this.running = false;
    }
  }
}

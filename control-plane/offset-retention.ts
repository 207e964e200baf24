// Expiry of consumer group offsets, as Kafka's offsets.retention.minutes: the offsets of a group
// that has had no members for the retention period go. This module only decides when to look:
// on the leader controller, every check period, it proposes an expireGroupOffsets command naming
// the retention period. Which groups expire is decided when the command is applied
// (apply/offsets.ts), against the log entry's clock reading and the activity the log recorded,
// so every controller deletes the same offsets.
import type { Logger } from '../shared/logger.ts';
import type { CommandLog } from './command-log.ts';

export interface OffsetRetentionOptions {
  log: CommandLog;
  /** Offsets of a group with no members for this long expire. */
  retentionMs: number;
  /** How often the leader looks for expired groups. */
  checkMs: number;
  logger: Logger;
}

/** Kafka's default offsets.retention.minutes: 7 days. */
export const OFFSETS_RETENTION_MS_DEFAULT = 7 * 24 * 60 * 60 * 1000;

/** Kafka's default offsets.retention.check.interval.ms: 10 minutes. */
export const OFFSETS_RETENTION_CHECK_MS_DEFAULT = 10 * 60 * 1000;

export class OffsetRetention {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly options: OffsetRetentionOptions) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.check(), this.options.checkMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look, on the leader only; resolves once the expiry it proposed is applied. */
  async check(): Promise<void> {
    const { log, logger, retentionMs } = this.options;
    if (this.running || !log.isLeader()) return;

    this.running = true;
    try {
      const result = await log.propose({ type: 'expireGroupOffsets', retentionMs });
      if (result.ok && result.value.groupIds.length > 0) {
        const { groupIds, deleted } = result.value;
        const sample = groupIds.slice(0, 20);
        logger.info({ groups: groupIds.length, offsets: deleted, sample }, 'offsets expired');
      }
    } catch (err) {
      logger.warn({ err: String(err) }, 'offset expiry failed');
    } finally {
      this.running = false;
    }
  }
}

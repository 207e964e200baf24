// The settings of one partition log, as plain numbers. They come from topic configs (segment.bytes,
// segment.ms, retention.ms, retention.bytes, index.interval.bytes, max.message.bytes,
// message.timestamp.type); translating and validating those strings is left to the topic config
// code, which hands a LogConfig over.
import { invariant } from '../../shared/assert.ts';

export interface LogConfig {
  /** A segment is rolled before an append would grow it past this size. */
  segmentBytes: number;
  /** A non-empty segment older than this (by the broker clock at its first append) is rolled. */
  segmentMs: number;
  /** Whole segments whose newest record is older than this are deleted; -1 keeps them. */
  retentionMs: number;
  /** Oldest segments are deleted while the log is larger than this; -1 keeps them. */
  retentionBytes: number;
  /** Bytes of batches between two entries of the sparse offset and time indexes. */
  indexIntervalBytes: number;
  /**
   * Default true. When false, appends resolve once written (page cache); durability comes at
   * roll, flush() and close().
   */
  fsync?: boolean;
  /** The largest batch accepted, header included (max.message.bytes). */
  maxMessageBytes: number;
  /** Default CreateTime. LogAppendTime makes the leader stamp its clock on every record. */
  timestampType?: 'CreateTime' | 'LogAppendTime';
  /** Bytes of the newest appends kept in memory for fetches at the tail; default 1 MiB, 0: off. */
  tailCacheBytes?: number;
}

export const TAIL_CACHE_BYTES_DEFAULT = 1024 * 1024;

export const defaultLogConfig: Required<LogConfig> = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  indexIntervalBytes: 4096,
  fsync: true,
  maxMessageBytes: 1024 * 1024 + 12,
  timestampType: 'CreateTime',
  tailCacheBytes: TAIL_CACHE_BYTES_DEFAULT,
};

/** File positions in the offset index are int32: a segment may not reach 2 GiB. */
export const SEGMENT_BYTES_MAX = 0x7fffffff;

export function checkLogConfig(config: LogConfig): void {
  invariant(
    config.segmentBytes >= 1024 && config.segmentBytes <= SEGMENT_BYTES_MAX,
    `segmentBytes ${config.segmentBytes} outside [1024, ${SEGMENT_BYTES_MAX}]`,
  );
  invariant(config.segmentMs > 0, 'segmentMs must be positive');
  invariant(config.indexIntervalBytes > 0, 'indexIntervalBytes must be positive');
  invariant(config.maxMessageBytes > 0, 'maxMessageBytes must be positive');
}

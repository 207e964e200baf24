// Shared pieces of the log tests: temp directories, small configs that roll and index often, and
// batch builders.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

import { silentLogger } from '../../shared/logger.ts';
import {
  type EncodeBatchOptions,
  decodeRecords,
  batches,
  encodeBatch,
} from '../../shared/record-batch.ts';
import { type LogConfig, defaultLogConfig } from '../../data-node/log/log-config.ts';
import { PartitionLog, type PartitionLogOptions } from '../../data-node/log/partition-log.ts';

const dirs: string[] = [];

/** A fresh directory removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-log-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

export function smallConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return {
    ...defaultLogConfig,
    segmentBytes: 4096,
    indexIntervalBytes: 256,
    retentionMs: -1,
    ...overrides,
  };
}

export function openLog(dir: string, config: LogConfig, options: PartitionLogOptions = {}) {
  return PartitionLog.open(dir, config, silentLogger, options);
}

/** A batch of records whose values are the given strings (null stays null). */
export function batchOf(
  values: (string | null)[],
  options: EncodeBatchOptions & { timestamps?: number[] } = {},
): Buffer {
  const records = values.map((v, i) => ({
    key: null,
    value: v === null ? null : Buffer.from(v),
    timestamp: options.timestamps?.[i] ?? options.timestamp ?? 1000,
  }));
  return encodeBatch(records, options);
}

/** Values of every record in a records blob, with offsets, as strings. */
export function valuesOf(records: Buffer): { offset: bigint; value: string | null }[] {
  const out: { offset: bigint; value: string | null }[] = [];
  for (const batch of batches(records)) {
    for (const r of decodeRecords(batch)) {
      out.push({ offset: r.offset, value: r.value === null ? null : r.value.toString() });
    }
  }
  return out;
}

/** Reads the whole log from `from` by repeated fetches, as a consumer would. */
export async function readAll(log: PartitionLog, from = log.logStartOffset) {
  const out: { offset: bigint; value: string | null }[] = [];
  let offset = from;
  while (offset < log.logEndOffset) {
    const { records } = await log.read(offset, 1 << 20, log.logEndOffset, true);
    const values = valuesOf(records).filter((r) => r.offset >= offset);
    if (values.length === 0) throw new Error(`no progress reading at ${offset}`);
    out.push(...values);
    offset = values[values.length - 1].offset + 1n;
  }
  return out;
}

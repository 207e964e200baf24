// The device under the logs: sequential write bandwidth with a final fdatasync (into a new file,
// then over the same file again, whose pages are already cached), and the rate of small appends
// each made durable on its own. Synchronous calls on purpose: nothing else runs meanwhile, and the
// figures then hold no event-loop time.
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MiB } from '../plan.ts';
import { mbPerSec, nowMs, perSec } from '../stats.ts';

export interface DiskFigures {
  sequentialNewFileMBps: number;
  sequentialOverwriteMBps: number;
  sequentialBytes: number;
  smallAppendBytes: number;
  smallAppendsPerSec: number;
}

export function measureDisk(dir: string, options: { quick: boolean }): DiskFigures {
  const sequentialBytes = (options.quick ? 128 : 512) * MiB;
  const file = join(dir, 'sequential.bin');

  const sequentialNewFileMBps = sequentialWrite(file, sequentialBytes);
  const sequentialOverwriteMBps = sequentialWrite(file, sequentialBytes);
  rmSync(file, { force: true });

  const smallAppendBytes = 1024;
  const smallAppendsPerSec = smallAppendRate(join(dir, 'appends.bin'), smallAppendBytes, {
    countMax: options.quick ? 500 : 2_000,
    durationMaxMs: options.quick ? 1_000 : 3_000,
  });

  return {
    sequentialNewFileMBps,
    sequentialOverwriteMBps,
    sequentialBytes,
    smallAppendBytes,
    smallAppendsPerSec,
  };
}

/** Writes `totalBytes` from the start of the file in 1 MiB writes, then one fdatasync. */
function sequentialWrite(file: string, totalBytes: number): number {
  const chunk = Buffer.alloc(MiB, 0x5a);
  const fd = openSync(file, 'w');

  const started = nowMs();
  for (let position = 0; position < totalBytes; position += chunk.length) {
    writeSync(fd, chunk, 0, chunk.length, position);
  }
  fdatasyncSync(fd);
  const elapsedMs = nowMs() - started;

  closeSync(fd);
  return mbPerSec(totalBytes, elapsedMs);
}

/** Appends of `bytes`, each followed by its own fdatasync: a log without group commit. */
function smallAppendRate(
  file: string,
  bytes: number,
  limits: { countMax: number; durationMaxMs: number },
): number {
  const record = Buffer.alloc(bytes, 0x61);
  const fd = openSync(file, 'a');

  const started = nowMs();
  let count = 0;
  while (count < limits.countMax && nowMs() - started < limits.durationMaxMs) {
    writeSync(fd, record);
    fdatasyncSync(fd);
    count++;
  }
  const elapsedMs = nowMs() - started;

  closeSync(fd);
  rmSync(file, { force: true });
  return perSec(count, elapsedMs);
}

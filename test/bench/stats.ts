// Pure arithmetic behind every figure the benchmarks print: percentiles by nearest rank, medians,
// rates. Kept free of I/O so the same numbers come out of the same samples, and so that
// stats.test.ts can check them against a naive model.

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  /** With fewer than 1,000 samples this is the largest one, not a true 99.9th percentile. */
  p999Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of an ascending array: the smallest sample >= q of all samples. */
export function percentile(sortedAscending: readonly number[], q: number): number {
  if (sortedAscending.length === 0) return Number.NaN;

  const rank = Math.ceil(q * sortedAscending.length);
  const index = Math.min(sortedAscending.length - 1, Math.max(0, rank - 1));
  return sortedAscending[index]!;
}

export function median(samples: readonly number[]): number {
  return percentile(
    [...samples].sort((a, b) => a - b),
    0.5,
  );
}

export function summarizeLatencies(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);

  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    p999Ms: percentile(sorted, 0.999),
    maxMs: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
  };
}

/** Decimal megabytes a second, as disks and networks are quoted. */
export function mbPerSec(bytes: number, elapsedMs: number): number {
  if (elapsedMs <= 0) return Number.NaN;
  return bytes / 1e6 / (elapsedMs / 1000);
}

export function perSec(count: number, elapsedMs: number): number {
  if (elapsedMs <= 0) return Number.NaN;
  return count / (elapsedMs / 1000);
}

/** a / b, or NaN when either side is missing, so a ratio is never made up from nothing. */
export function ratio(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0)
    return Number.NaN;
  return a / b;
}

/** Milliseconds since an arbitrary origin, with sub-millisecond resolution. */
export function nowMs(): number {
  return performance.now();
}

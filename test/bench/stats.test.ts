// The benchmark's arithmetic and plumbing checked against naive models: percentiles by nearest
// rank, the ceiling's framing under any split of the byte stream, the in-flight window, the
// report's ratios and the profile reader.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReader } from './ceiling/protocol.ts';
import { summarizeProfile } from './profile.ts';
import { buildRows, formatTable, num, type BenchResults } from './report.ts';
import { percentile, ratio, summarizeLatencies } from './stats.ts';
import { runWindowed } from './window.ts';

describe('percentile (nearest rank)', () => {
  it('answers a sample with at least q of all samples at or below it, no smaller one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        (samples, q) => {
          const sorted = [...samples].sort((a, b) => a - b);
          const p = percentile(sorted, q);
          const needed = Math.ceil(q * sorted.length);

          expect(sorted).toContain(p);
          expect(sorted.filter((s) => s <= p).length).toBeGreaterThanOrEqual(needed);
          expect(sorted.filter((s) => s < p).length).toBeLessThan(needed);
        },
      ),
    );
  });

  it('gives the largest sample as p999 when there are fewer than 1,000', () => {
    const summary = summarizeLatencies([5, 1, 3, 2, 4]);
    expect(summary).toEqual({ count: 5, p50Ms: 3, p99Ms: 5, p999Ms: 5, maxMs: 5 });
  });

  it('makes no ratio from a missing or zero figure', () => {
    expect(ratio(10, 4)).toBe(2.5);
    expect(ratio(undefined, 4)).toBeNaN();
    expect(ratio(3, 0)).toBeNaN();
  });
});

describe('ceiling framing', () => {
  it('yields the same bodies however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (bodies, cuts) => {
          const stream = Buffer.concat(
            bodies.flatMap((b) => {
              const header = Buffer.alloc(4);
              header.writeUInt32BE(b.length);
              return [header, Buffer.from(b)];
            }),
          );
          const reader = new FrameReader();
          const seen: Buffer[] = [];

          for (let at = 0, i = 0; at < stream.length; i++) {
            const size = cuts[i % cuts.length]!;
            reader.push(stream.subarray(at, at + size), (body) => seen.push(Buffer.from(body)));
            at += size;
          }
          expect(seen).toEqual(bodies.map((b) => Buffer.from(b)));
        },
      ),
    );
  });
});

describe('runWindowed', () => {
  it('never has more than the window in flight and settles everything it started', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
        async (window, total, failures) => {
          let inFlight = 0;
          let most = 0;
          const outcome = await runWindowed({
            window,
            shouldStop: (n) => n >= total,
            start: async (i) => {
              inFlight++;
              most = Math.max(most, inFlight);
              await Promise.resolve();
              inFlight--;
              if (failures[i % failures.length]!) throw new Error('refused');
            },
          });

          expect(most).toBeLessThanOrEqual(window);
          expect(outcome.started).toBe(total);
          expect(outcome.succeeded + outcome.failed).toBe(total);
        },
      ),
    );
  });
});

describe('report', () => {
  const results: BenchResults = {
    generatedAt: '2025-01-01T00:00:00.000Z',
    mode: 'quick',
    durationS: 1,
    machine: { cpus: 2, memoryGiB: 24, node: 'v20', kernel: 'x' },
    ceiling: [
      {
        replication: 3,
        frameBytes: 131072,
        window: 8,
        throughputMBps: 100,
        latency: { count: 1, p50Ms: 1, p99Ms: 2, p999Ms: 3, maxMs: 3 },
      },
    ],
    settings: {},
    clientTrials: [],
    cases: [
      {
        workload: 'publish',
        system: 'weir',
        replication: 3,
        figures: {
          recordBytes: 1024,
          records: 10,
          mbPerSec: 60,
          recordsPerSec: 1,
          clientCpuPercent: 90,
        },
      },
      {
        workload: 'publish',
        system: 'jetstream',
        replication: 3,
        figures: {
          recordBytes: 1024,
          records: 10,
          mbPerSec: 12,
          recordsPerSec: 1,
          clientCpuPercent: 50,
        },
      },
    ],
    errors: [],
    notes: [],
    replicationWarnings: [],
    profiles: [],
  };

  it('shows Weir over JetStream and Weir as a share of the ceiling at the same replication', () => {
    const row = buildRows(results).find(
      (r) => r.workload === 'publish 1 KiB, acked' && r.replication === 3,
    )!;
    expect(row).toMatchObject({ weir: 60, jetstream: 12, ceiling: 100 });

    const line = formatTable([row]).split('\n')[2]!;
    expect(line).toContain('5.00x');
    expect(line).toContain('60%');
  });

  it('prints missing figures as a dash and a leader that never came back as never', () => {
    expect(num(undefined)).toBe('-');
    expect(num(Number.NaN)).toBe('-');
    expect(num(Number.POSITIVE_INFINITY)).toBe('never');
    expect(num(1234.4)).toBe('1,234');
    expect(num(0.5)).toBe('0.5');
  });
});

describe('summarizeProfile', () => {
  it('splits busy time by area and counts a recursive Weir function once per sample', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-bench-test-'));
    const repo = '/repo';
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
    const profile = {
      startTime: 0,
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 5] },
        { id: 2, callFrame: frame('handle', 'file:///repo/data-node/server.ts'), children: [3] },
        { id: 3, callFrame: frame('handle', 'file:///repo/data-node/server.ts'), children: [4] },
        { id: 4, callFrame: frame('crc32c', 'file:///repo/node_modules/@node-rs/crc32/index.js') },
        { id: 5, callFrame: frame('(idle)', '') },
      ],
      samples: [4, 4, 3, 5],
      timeDeltas: [1000, 1000, 2000, 5000],
    };
    const file = join(dir, 'p.cpuprofile');
    writeFileSync(file, JSON.stringify(profile));

    const summary = summarizeProfile(
      file,
      { process: 'n', phase: 'produce', role: 'leader' },
      repo,
    );
    rmSync(dir, { recursive: true });

    expect(summary.busyMs).toBe(4);
    expect(summary.idleMs).toBe(5);
    expect(summary.areas.map((a) => [a.name, a.ms])).toEqual([
      ['package @node-rs/crc32', 2],
      ['data-node/server.ts', 2],
    ]);
    expect(summary.weirInclusive).toEqual([
      { name: 'handle (data-node/server.ts)', ms: 4, percent: 100 },
    ]);
  });
});

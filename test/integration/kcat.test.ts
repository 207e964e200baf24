// librdkafka, through Debian's kcat, against a real local cluster: metadata, produce with
// acks=all (plain, gzip, lz4, zstd, snappy) and consume to the end of each partition.
import { execFile, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../infra/local-cluster.ts';
import { startTestCluster, stopTestCluster } from './cluster.ts';

let cluster: LocalCluster | undefined;
let failed = false;

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 19010 });
});

afterAll(async () => {
  await stopTestCluster(cluster, { keep: failed });
});

function kcat(args: string[], input?: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn('kcat', ['-b', cluster!.bootstrapServers, ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('exit', (code) =>
      code === 0 ? done(out) : fail(new Error(`kcat ${args.join(' ')} exited ${code}: ${err}`)),
    );
    child.stdin.end(input ?? '');
  });
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const res = await fetch(`${cluster!.adminUrls[0]}/v1/topics`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, partitions, replicationFactor: 3 }),
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
}

describe('kcat (librdkafka)', () => {
  it('is installed', async () => {
    const version = await new Promise<string>((done, fail) =>
      execFile('kcat', ['-V'], (err, stdout) => (err ? fail(err) : done(stdout))),
    );
    expect(version).toMatch(/librdkafka/);
  });

  it('lists brokers and topics with -L', async () => {
    failed = true;
    await createTopic('kcat-meta', 4);

    // Data nodes learn of a new topic from the controller's change stream a moment after the
    // admin API answers, as Kafka brokers do; until then the topic is unknown to them.
    type Listing = {
      brokers: { id: number; name: string }[];
      topics: { topic: string; partitions: { partition: number; leader: number }[] }[];
    };
    let metadata: Listing;
    for (;;) {
      metadata = JSON.parse(await kcat(['-L', '-J', '-t', 'kcat-meta'])) as Listing;
      if (metadata.topics[0]?.partitions.length) break;
    }

    expect(metadata.brokers.map((b) => b.id).sort()).toEqual([1, 2, 3]);
    expect(metadata.topics[0]!.topic).toBe('kcat-meta');
    expect(metadata.topics[0]!.partitions).toHaveLength(4);
    failed = false;
  });

  for (const codec of ['none', 'gzip', 'lz4', 'zstd', 'snappy']) {
    it(`produces with -P (${codec}, acks=all) and consumes to the end with -C`, async () => {
      failed = true;
      const topic = `kcat-${codec}`;
      await createTopic(topic, 3);

      const lines = Array.from({ length: 500 }, (_, i) => `k${i}:value ${i}`);
      await kcat(
        ['-P', '-t', topic, '-K:', '-z', codec, '-X', 'acks=all', '-X', 'linger.ms=5'],
        lines.join('\n') + '\n',
      );

      const out = await kcat(['-C', '-t', topic, '-e', '-q', '-f', '%p %o %k=%s\n']);
      const consumed = out.trim().split('\n');
      expect(consumed).toHaveLength(500);
      expect(consumed.map((l) => l.split(' ').slice(2).join(' ')).sort()).toEqual(
        lines.map((l) => l.replace(':', '=')).sort(),
      );

      for (const partition of ['0', '1', '2']) {
        const offsets = consumed.filter((l) => l.startsWith(`${partition} `)).map((l) => l.split(' ')[1]);
        expect(offsets).toEqual(offsets.map((_, i) => String(i)));
      }
      failed = false;
    });
  }
});

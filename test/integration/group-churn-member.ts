// One member of the churn test's consumer group, run as its own process so that the test can
// SIGKILL it without it leaving the group. It consumes with kafkajs (autoCommit off) and, for each
// record: appends a `processed` line to its report file, commits offset + 1, and appends a
// `committed` line once the broker acknowledged that commit. Lines are written with one
// appendFileSync each, so whatever was reported before a SIGKILL is already in the file.
// SIGTERM makes it leave the group cleanly (kafkajs disconnect sends LeaveGroup), then exit.
//
// Usage: tsx group-churn-member.ts <report file> <member name> <group> <topic> <brokers,...>
// Optional environment: WEIR_MEMBER_SESSION_TIMEOUT_MS, WEIR_MEMBER_HEARTBEAT_MS.
import { appendFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { wallNow, type MemberReport } from './group-members.ts';

async function main(): Promise<void> {
  const [file, member, groupId, topic, brokerList] = process.argv.slice(2);
  if (brokerList === undefined) throw new Error('usage: <file> <member> <group> <topic> <brokers>');
  const report = (line: MemberReport) => appendFileSync(file!, JSON.stringify(line) + '\n');

  const kafka = new Kafka({
    clientId: member,
    brokers: brokerList.split(','),
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({
    groupId: groupId!,
    sessionTimeout: Number(process.env.WEIR_MEMBER_SESSION_TIMEOUT_MS ?? 8000),
    heartbeatInterval: Number(process.env.WEIR_MEMBER_HEARTBEAT_MS ?? 1000),
    maxWaitTimeInMs: 1000,
  });

  // kafkajs tells the generation only in its commit event; a resolved commitOffsets without that
  // event means the consumer was stopping and committed nothing.
  let generation = -1;
  const acknowledged = new Set<string>();
  consumer.on(consumer.events.COMMIT_OFFSETS, (event) => {
    generation = event.payload.groupGenerationId;
    for (const t of event.payload.topics) {
      for (const p of t.partitions) acknowledged.add(`${p.partition}:${p.offset}`);
    }
  });
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const partitions = [...(event.payload.memberAssignment[topic!] ?? [])].sort((a, b) => a - b);
    report({ e: 'join', member, t: wallNow(), partitions });
  });

  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload;
    report({ e: 'crash', member, t: wallNow(), error: String(error), restart });
  });

  process.once('SIGTERM', () => {
    void consumer.disconnect().finally(() => process.exit(0));
  });

  report({ e: 'start', member, t: wallNow() });
  await consumer.connect();
  await consumer.subscribe({ topic: topic!, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const { offset } = message;
      const v = message.value?.toString() ?? '';
      report({ e: 'processed', member, t: wallNow(), p: partition, o: offset, v, gen: generation });

      const next = (BigInt(offset) + 1n).toString();
      await consumer.commitOffsets([{ topic: topic!, partition, offset: next }]);
      if (!acknowledged.delete(`${partition}:${next}`)) return;
      report({ e: 'committed', member, t: wallNow(), p: partition, o: next, gen: generation });
    },
  });
}

await main();

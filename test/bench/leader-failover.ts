// Leader kills under load on their own, for a closer look than the full run gives: a Weir cluster
// of 3 controllers and 3 data nodes with default settings, a one-partition topic at replication
// factor 3, a window of single-record acks=all publishes, and N SIGKILLs of the partition's
// leader (each restarted and caught up before the next). Prints, per kill, the time until a
// publish issued after the kill was acknowledged, then every acknowledged record that the log
// does not hold, and keeps the cluster's directory when one is missing.
//   npx tsx test/bench/leader-failover.ts [--kills N] [--client kafkajs|@platformatic/kafka]
import { Command } from 'commander';
import { join } from 'node:path';
import { readReplicaBatches } from '../integration/replica-logs.ts';
import { decodeRecords } from '../../shared/record-batch.ts';
import { makePlan } from './plan.ts';
import { makeKafkaClient, type KafkaClientName } from './subjects/kafka-clients.ts';
import { WeirSubject } from './subjects/weir.ts';
import { failover } from './workloads.ts';

const TOPIC = 'failover';

async function main(): Promise<void> {
  const options = new Command('leader-failover')
    .option('--kills <n>', 'leader kills', '5')
    .option('--client <name>', 'producer: kafkajs or @platformatic/kafka', 'kafkajs')
    .parse()
    .opts<{ kills: string; client: KafkaClientName }>();

  const plan = {
    ...makePlan({ quick: false, profile: false }),
    failoverKills: Number(options.kills),
  };
  const ports = plan.ports.weirProfile;
  const subject = await WeirSubject.start(
    { replication: 3, controllers: 3, ports, readyTimeoutMs: 45_000 },
    plan,
  );
  let keep = false;

  try {
    const client = (name: KafkaClientName) => makeKafkaClient(name, subject.brokers, plan.inFlight);
    subject.useClients(client(options.client), client('kafkajs'), client(options.client));
    await subject.createLog(TOPIC);
    const figures = await failover(subject, TOPIC, plan);

    for (const kill of figures.kills) {
      console.log(
        `${kill.killed}: ${Math.round(kill.recoveryMs)} ms (${kill.failedWrites} failed)`,
      );
    }
    const sorted = figures.kills.map((k) => k.recoveryMs).sort((a, b) => a - b);
    console.log(
      `median ${Math.round(figures.medianRecoveryMs)} ms, worst ${Math.round(sorted.at(-1)!)} ms; ` +
        `${figures.recordsAcked} acked, ${figures.recordsRead} read back, ` +
        `${figures.recordsLost} lost`,
    );

    if (figures.recordsLost > 0) {
      keep = true;
      console.log(`lost ids: ${figures.lostIds.join(', ')}`);
      for (const id of figures.lostIds) console.log(`id ${id}: ${whereIs(subject, id)}`);
      console.log(`cluster kept in ${subject.cluster.dataDir}`);
    }
  } finally {
    await subject.close({ keepData: keep });
  }
}

/** Where each data node's replica holds the record with `id`, by offset and batch epoch. */
function whereIs(subject: WeirSubject, id: number): string {
  const places: string[] = [];
  for (const node of subject.cluster.processes.filter((p) => p.role === 'data-node')) {
    const dir = join(subject.cluster.dataDir, node.name, 'data', `${TOPIC}-0`);
    for (const batch of readReplicaBatches(dir)) {
      for (const record of decodeRecords(batch.bytes)) {
        const value = record.value;
        if (value !== null && value.length >= 8 && value.readUInt32BE(4) === id) {
          places.push(`${node.name} offset ${record.offset} epoch ${batch.leaderEpoch}`);
        }
      }
    }
  }
  return places.length === 0 ? 'in no replica' : places.join('; ');
}

await main();

// Losing the leader controller of a real cluster (three controller processes and a data node,
// ports 19710-19799): after SIGKILL, after SIGSTOP, and after SIGKILL with an immediate restart,
// another controller takes writes again, the old leader comes back as a follower that serves
// them, and no topic or group offset committed before or after is lost on any controller. The
// time each repair took is printed; test/bench/controller-failover.ts measures it over many runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCluster } from '../../infra/local-cluster.ts';
import { startTestCluster, stopTestCluster } from './cluster.ts';
import { failLeader, Ledger, type FailoverKind } from './failover.ts';

let cluster: LocalCluster | undefined;
let failed = false;
const ledger = new Ledger();

beforeAll(async () => {
  cluster = await startTestCluster({ basePort: 19710, controllers: 3, dataNodes: 1 });
});

afterAll(async () => {
  await stopTestCluster(cluster, { keep: failed });
});

describe('losing the leader controller', () => {
  const kinds: FailoverKind[] = ['kill', 'pause', 'restart'];

  it.each(kinds)('recovers from %s of the leader and loses nothing committed', async (kind) => {
    try {
      const run = await failLeader(cluster!, kind, kinds.indexOf(kind), ledger);
      console.log(
        `${kind}: writes accepted again after ${run.writeAcceptedMs.toFixed(0)} ms ` +
          `(controller ${run.oldLeader} -> ${run.newLeader}); ` +
          `old leader served them ${run.rejoinedMs.toFixed(0)} ms after its return`,
      );

      expect(run.newLeader).not.toBe(run.oldLeader);
      expect(run.lost).toEqual([]);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
});

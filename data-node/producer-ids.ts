// Producer ids for idempotent producers (InitProducerId). The controller hands out ids in blocks,
// each block a command in its log, so ids are unique across the cluster and across restarts of
// any node; this node serves ids from its current block and asks for the next block when it runs
// out. Ids left in a block when the node stops are never used: the id space is large.
import type { ProducerIdBlock } from './controller-client.ts';

export class ProducerIdAllocator {
  private next = 0n;
  private end = 0n;
  /** The request for a new block in flight; callers waiting meanwhile share it. */
  private refill: Promise<void> | null = null;

  constructor(private readonly allocateBlock: () => Promise<ProducerIdBlock>) {}

  /** A producer id no one else in the cluster has been or will be given. */
  async allocate(): Promise<bigint> {
    while (this.next >= this.end) {
      this.refill ??= this.takeBlock().finally(() => (this.refill = null));
      await this.refill;
    }
    return this.next++;
  }

  private async takeBlock(): Promise<void> {
    const block = await this.allocateBlock();
    this.next = BigInt(block.firstProducerId);
    this.end = this.next + BigInt(block.count);
  }
}

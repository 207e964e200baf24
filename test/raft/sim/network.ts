// The simulated network between controllers: each message is lost, delivered once or delivered
// twice, after a random delay (so messages overtake each other), unless a partition cuts its link
// when it arrives. Links are cut one way at a time, so asymmetric partitions come for free.
import type { Prng } from '../../../control-plane/raft/prng.ts';
import type { ControllerId, Message } from '../../../control-plane/raft/types.ts';

export interface NetworkFaults {
  lossRate: number;
  duplicateRate: number;
  delayMin: number;
  delayMax: number;
}

export class SimNetwork {
  /** Cut links as "from>to". */
  private readonly cuts = new Set<string>();

  constructor(
    private readonly prng: Prng,
    public faults: NetworkFaults,
  ) {}

  /** Delays after which copies of `message` arrive: none when it is lost, two when duplicated. */
  deliveries(_message: Message): number[] {
    const { lossRate, duplicateRate } = this.faults;
    if (this.prng.chance(lossRate)) return [];

    const copies = this.prng.chance(duplicateRate) ? 2 : 1;
    return Array.from({ length: copies }, () => this.delay());
  }

  isCut(from: ControllerId, to: ControllerId): boolean {
    return this.cuts.size > 0 && this.cuts.has(`${from}>${to}`);
  }

  /** Separates `group` from everyone else, both ways. */
  split(group: readonly ControllerId[], all: readonly ControllerId[]): void {
    for (const a of group) {
      for (const b of all) {
        if (group.includes(b)) continue;
        this.cuts.add(`${a}>${b}`);
        this.cuts.add(`${b}>${a}`);
      }
    }
  }

  cutOneWay(from: ControllerId, to: ControllerId): void {
    this.cuts.add(`${from}>${to}`);
  }

  heal(): void {
    this.cuts.clear();
  }

  get partitioned(): boolean {
    return this.cuts.size > 0;
  }

  private delay(): number {
    const { delayMin, delayMax } = this.faults;
    return this.prng.int(delayMin, delayMax + 1);
  }
}

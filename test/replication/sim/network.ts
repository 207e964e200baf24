// The simulated network. Data-plane messages (fetches, produces, their answers) are a pool: any of
// them may be delivered next, so they are delayed and reordered at will. Links to and from the
// controller are FIFO per data node, as one connection would be: a message is delivered after
// everything sent before it on that link, or lost. The world decides what is lost.
import type { Prng } from './prng.ts';
import type { SimMessage } from './messages.ts';

/** Node ids are 1..n; the controller and the producer have their own addresses. */
export const CONTROLLER = 0;
export const PRODUCER = -1;

export interface Envelope {
  from: number;
  to: number;
  body: SimMessage;
}

export class Network {
  #pool: Envelope[] = [];
  readonly #links = new Map<string, Envelope[]>();

  send(envelope: Envelope): void {
    const link = linkKey(envelope);
    if (link === null) {
      this.#pool.push(envelope);
      return;
    }
    const queue = this.#links.get(link) ?? [];
    queue.push(envelope);
    this.#links.set(link, queue);
  }

  get size(): number {
    let size = this.#pool.length;
    for (const queue of this.#links.values()) size += queue.length;
    return size;
  }

  /** Takes one deliverable message at random: any pooled one, or the head of a link. */
  take(prng: Prng): Envelope | undefined {
    const heads = [...this.#links.values()].filter((q) => q.length > 0);
    const count = this.#pool.length + heads.length;
    if (count === 0) return undefined;

    const choice = prng.int(0, count - 1);
    if (choice < this.#pool.length) return this.#pool.splice(choice, 1)[0];
    return heads[choice - this.#pool.length].shift();
  }
}

function linkKey(envelope: Envelope): string | null {
  if (envelope.to === CONTROLLER) return `to-controller:${envelope.from}`;
  if (envelope.from === CONTROLLER) return `from-controller:${envelope.to}`;
  return null;
}

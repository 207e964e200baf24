// The simulator's state machine: the set of proposal ids applied, a rolling hash of everything
// applied in order, and the index it reached. Its snapshot is that state as JSON, so a node
// restored from a snapshot can be compared with one that applied every entry.
import type { Entry } from '../../../control-plane/raft/types.ts';

export class SimStateMachine {
  index = 0;
  hash = 0;
  readonly ids = new Set<string>();

  /** Applies one committed entry; returns the proposal id it carried and whether it was new. */
  apply(entry: Entry): { id: string; fresh: boolean } | null {
    this.index = entry.index;
    this.hash = mix(this.hash, fingerprint(entry));
    if (entry.kind !== 'command') return null;

    const id = new TextDecoder().decode(entry.data);
    const fresh = !this.ids.has(id);
    this.ids.add(id);
    return { id, fresh };
  }

  snapshot(): Uint8Array {
    const state = { index: this.index, hash: this.hash, ids: [...this.ids] };
    return new TextEncoder().encode(JSON.stringify(state));
  }

  static restore(data: Uint8Array): SimStateMachine {
    const machine = new SimStateMachine();
    if (data.length === 0) return machine;

    const state = JSON.parse(new TextDecoder().decode(data)) as {
      index: number;
      hash: number;
      ids: string[];
    };
    machine.index = state.index;
    machine.hash = state.hash;
    for (const id of state.ids) machine.ids.add(id);
    return machine;
  }
}

/** What identifies an entry's content, independent of where it sits. */
export function fingerprint(entry: Entry): string {
  if (entry.kind === 'command') return `c:${new TextDecoder().decode(entry.data)}`;
  if (entry.kind === 'noop') return 'n';
  return `v:${entry.voters.join(',')}`;
}

/** FNV-1a over the text, chained onto the previous hash. */
export function mix(hash: number, text: string): number {
  let h = (hash ^ 0x811c9dc5) >>> 0;
  for (let k = 0; k < text.length; k++) h = Math.imul(h ^ text.charCodeAt(k), 0x01000193) >>> 0;
  return h;
}

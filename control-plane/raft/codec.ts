// Raft messages on the wire between controllers: one JSON document per message, byte fields
// (commands, snapshot images) in base64, validated with zod on arrival so a malformed or foreign
// frame is refused before it reaches the core. Framing (length prefixes) is the transport's.
//
// Known shortcoming: base64 inflates commands and snapshots by a third and a snapshot travels as
// one document; fine for controller metadata, not for multi-gigabyte state.
import { z } from 'zod';
import { controllerId, raftIndex, term } from '../../shared/ids.ts';
import type { ConfigChange, Entry, Message, Snapshot } from './types.ts';

const Id = z.number().int().nonnegative();
const Index = z.number().int().nonnegative();
const TermNumber = z.number().int().nonnegative();
const Bytes = z.string().base64();

const Change = z.discriminatedUnion('type', [
  z.object({ type: z.literal('add-voter'), id: Id }),
  z.object({ type: z.literal('remove-voter'), id: Id }),
  z.object({ type: z.literal('bootstrap') }),
]);

const EntryWire = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('command'), index: Index, term: TermNumber, data: Bytes }),
  z.object({ kind: z.literal('noop'), index: Index, term: TermNumber }),
  z.object({
    kind: z.literal('config'),
    index: Index,
    term: TermNumber,
    change: Change,
    voters: z.array(Id),
  }),
]);

const SnapshotWire = z.object({
  meta: z.object({ index: Index, term: TermNumber, voters: z.array(Id) }),
  data: Bytes,
});

const header = { from: Id, to: Id, term: TermNumber };

const MessageWire = z.union([
  z.object({
    ...header,
    type: z.enum(['PreVote', 'RequestVote']),
    lastLogIndex: Index,
    lastLogTerm: TermNumber,
  }),
  z.object({
    ...header,
    type: z.enum(['PreVoteResponse', 'RequestVoteResponse']),
    granted: z.boolean(),
  }),
  z.object({
    ...header,
    type: z.literal('AppendEntries'),
    prevLogIndex: Index,
    prevLogTerm: TermNumber,
    entries: z.array(EntryWire),
    commitIndex: Index,
  }),
  z.object({
    ...header,
    type: z.literal('AppendEntriesResponse'),
    success: z.literal(true),
    matchIndex: Index,
  }),
  z.object({
    ...header,
    type: z.literal('AppendEntriesResponse'),
    success: z.literal(false),
    rejectedIndex: Index,
    hintIndex: Index,
    hintTerm: TermNumber,
  }),
  z.object({
    ...header,
    type: z.literal('Heartbeat'),
    commitIndex: Index,
    readRound: z.number().int(),
  }),
  z.object({ ...header, type: z.literal('HeartbeatResponse'), readRound: z.number().int() }),
  z.object({ ...header, type: z.literal('InstallSnapshot'), snapshot: SnapshotWire }),
]);

type EntryOnWire = z.infer<typeof EntryWire>;

export function encodeMessage(message: Message): Buffer {
  return Buffer.from(JSON.stringify(toWire(message)));
}

/** Parses and validates one message; throws a ZodError or SyntaxError on anything else. */
export function decodeMessage(bytes: Buffer): Message {
  const wire = MessageWire.parse(JSON.parse(bytes.toString('utf8')));

  // Brands exist only for the compiler: the validated numbers are the ids, indexes and terms.
  if (wire.type === 'AppendEntries') {
    return { ...wire, entries: wire.entries.map(decodeEntry) } as unknown as Message;
  }
  if (wire.type === 'InstallSnapshot') {
    return { ...wire, snapshot: decodeSnapshot(wire.snapshot) } as unknown as Message;
  }
  return wire as unknown as Message;
}

function toWire(message: Message): unknown {
  if (message.type === 'AppendEntries') {
    return { ...message, entries: message.entries.map(entryToWire) };
  }
  if (message.type === 'InstallSnapshot') {
    return {
      ...message,
      snapshot: { meta: message.snapshot.meta, data: base64(message.snapshot.data) },
    };
  }
  return message;
}

function entryToWire(entry: Entry): unknown {
  return entry.kind === 'command' ? { ...entry, data: base64(entry.data) } : entry;
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function decodeEntry(wire: EntryOnWire): Entry {
  const head = { index: raftIndex(wire.index), term: term(wire.term) };
  if (wire.kind === 'command')
    return { ...head, kind: 'command', data: Buffer.from(wire.data, 'base64') };
  if (wire.kind === 'noop') return { ...head, kind: 'noop' };

  const change = wire.change.type === 'bootstrap' ? wire.change : decodeChange(wire.change);
  return { ...head, kind: 'config', change, voters: wire.voters.map(controllerId) };
}

function decodeChange(change: { type: 'add-voter' | 'remove-voter'; id: number }): ConfigChange {
  return { type: change.type, id: controllerId(change.id) };
}

function decodeSnapshot(wire: z.infer<typeof SnapshotWire>): Snapshot {
  const { meta } = wire;
  return {
    meta: {
      index: raftIndex(meta.index),
      term: term(meta.term),
      voters: meta.voters.map(controllerId),
    },
    data: Buffer.from(wire.data, 'base64'),
  };
}

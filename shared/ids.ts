// Branded ids, offsets and epochs: one name per concept, checked by the compiler so that a
// partition index is never passed where a node id is expected. int64 quantities are bigint.
declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type NodeId = Brand<number, 'NodeId'>;
export type ControllerId = Brand<number, 'ControllerId'>;
export type PartitionIndex = Brand<number, 'PartitionIndex'>;
export type LeaderEpoch = Brand<number, 'LeaderEpoch'>;
export type PartitionEpoch = Brand<number, 'PartitionEpoch'>;
export type Term = Brand<number, 'Term'>;
export type RaftIndex = Brand<number, 'RaftIndex'>;
export type Offset = Brand<bigint, 'Offset'>;

export const nodeId = (n: number): NodeId => n as NodeId;
export const controllerId = (n: number): ControllerId => n as ControllerId;
export const partitionIndex = (n: number): PartitionIndex => n as PartitionIndex;
export const leaderEpoch = (n: number): LeaderEpoch => n as LeaderEpoch;
export const partitionEpoch = (n: number): PartitionEpoch => n as PartitionEpoch;
export const term = (n: number): Term => n as Term;
export const raftIndex = (n: number): RaftIndex => n as RaftIndex;
export const offset = (n: bigint | number): Offset => BigInt(n) as Offset;

/** A topic-partition key for maps: `name:index`. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

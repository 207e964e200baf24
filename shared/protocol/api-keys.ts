// Kafka API keys and the version ranges the broker advertises in its ApiVersions answer. What
// the codec can read and write (apis/) may be wider than what is advertised here; a handler
// refuses what it does not serve.
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  OffsetForLeaderEpoch: 23,
  DescribeConfigs: 32,
  AlterConfigs: 33,
  SaslAuthenticate: 36,
  CreatePartitions: 37,
  DeleteGroups: 42,
  OffsetDelete: 47,
  DescribeCluster: 60,
} as const;

export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];

export interface VersionBounds {
  readonly min: number;
  readonly max: number;
}

/**
 * The lowest Produce version the broker accepts: v3 is the first that carries magic v2 record
 * batches, the only format Weir stores. The Produce handler answers v0-2 with UNSUPPORTED_VERSION.
 */
export const MIN_SERVED_PRODUCE_VERSION = 3;

/**
 * The ranges the broker advertises. Produce is advertised from v0 although only v3 and later are
 * served: librdkafka (up to 2.x, as in kcat and confluent-kafka) enables gzip, snappy and lz4 only
 * when the broker's Produce range contains version 0, and otherwise silently sends uncompressed
 * batches. Kafka 4 advertises Produce 0 for the same reason. Every other range starts where the
 * codec and the handlers really start.
 */
export const SUPPORTED_VERSIONS: ReadonlyMap<number, VersionBounds> = new Map([
  [ApiKey.Produce, { min: 0, max: 11 }],
  [ApiKey.Fetch, { min: 4, max: 17 }],
  [ApiKey.ListOffsets, { min: 0, max: 9 }],
  [ApiKey.Metadata, { min: 0, max: 12 }],
  [ApiKey.OffsetCommit, { min: 0, max: 9 }],
  [ApiKey.OffsetFetch, { min: 0, max: 9 }],
  [ApiKey.FindCoordinator, { min: 0, max: 6 }],
  [ApiKey.JoinGroup, { min: 0, max: 9 }],
  [ApiKey.Heartbeat, { min: 0, max: 4 }],
  [ApiKey.LeaveGroup, { min: 0, max: 5 }],
  [ApiKey.SyncGroup, { min: 0, max: 5 }],
  [ApiKey.DescribeGroups, { min: 0, max: 5 }],
  [ApiKey.ListGroups, { min: 0, max: 4 }],
  [ApiKey.SaslHandshake, { min: 0, max: 1 }],
  [ApiKey.ApiVersions, { min: 0, max: 4 }],
  [ApiKey.CreateTopics, { min: 0, max: 7 }],
  [ApiKey.DeleteTopics, { min: 0, max: 6 }],
  [ApiKey.DeleteRecords, { min: 0, max: 2 }],
  [ApiKey.InitProducerId, { min: 0, max: 5 }],
  [ApiKey.OffsetForLeaderEpoch, { min: 0, max: 4 }],
  [ApiKey.DescribeConfigs, { min: 0, max: 4 }],
  [ApiKey.AlterConfigs, { min: 0, max: 2 }],
  [ApiKey.CreatePartitions, { min: 0, max: 3 }],
  [ApiKey.DeleteGroups, { min: 0, max: 2 }],
  [ApiKey.OffsetDelete, { min: 0, max: 0 }],
  [ApiKey.DescribeCluster, { min: 0, max: 1 }],
]);

export function isVersionSupported(apiKey: number, apiVersion: number): boolean {
  const range = SUPPORTED_VERSIONS.get(apiKey);
  return range !== undefined && apiVersion >= range.min && apiVersion <= range.max;
}

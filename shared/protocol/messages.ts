// The body types of every request and response, inferred from the API descriptions in apis/.
// Field names are Kafka's message schema names in lower camel case; int64 fields are bigint,
// nullable fields `T | null`, bytes and records Buffer, UUIDs canonical strings. A decoded body
// always has every field: fields the version lacks hold their default (zero, empty, -1 where Kafka
// says so, or null). To encode, any field may be left out (`Encodable<T>`) and is written as its
// default.
import type { ApiKey } from './api-keys.ts';
import type * as A from './apis/index.ts';
import type { RequestOf, ResponseOf } from './schema.ts';

export type { Encodable } from './schema.ts';

export type ProduceRequest = RequestOf<typeof A.ProduceApi>;
export type ProduceResponse = ResponseOf<typeof A.ProduceApi>;
export type FetchRequest = RequestOf<typeof A.FetchApi>;
export type FetchResponse = ResponseOf<typeof A.FetchApi>;
export type ListOffsetsRequest = RequestOf<typeof A.ListOffsetsApi>;
export type ListOffsetsResponse = ResponseOf<typeof A.ListOffsetsApi>;
export type MetadataRequest = RequestOf<typeof A.MetadataApi>;
export type MetadataResponse = ResponseOf<typeof A.MetadataApi>;
export type OffsetCommitRequest = RequestOf<typeof A.OffsetCommitApi>;
export type OffsetCommitResponse = ResponseOf<typeof A.OffsetCommitApi>;
export type OffsetFetchRequest = RequestOf<typeof A.OffsetFetchApi>;
export type OffsetFetchResponse = ResponseOf<typeof A.OffsetFetchApi>;
export type FindCoordinatorRequest = RequestOf<typeof A.FindCoordinatorApi>;
export type FindCoordinatorResponse = ResponseOf<typeof A.FindCoordinatorApi>;
export type JoinGroupRequest = RequestOf<typeof A.JoinGroupApi>;
export type JoinGroupResponse = ResponseOf<typeof A.JoinGroupApi>;
export type HeartbeatRequest = RequestOf<typeof A.HeartbeatApi>;
export type HeartbeatResponse = ResponseOf<typeof A.HeartbeatApi>;
export type LeaveGroupRequest = RequestOf<typeof A.LeaveGroupApi>;
export type LeaveGroupResponse = ResponseOf<typeof A.LeaveGroupApi>;
export type SyncGroupRequest = RequestOf<typeof A.SyncGroupApi>;
export type SyncGroupResponse = ResponseOf<typeof A.SyncGroupApi>;
export type DescribeGroupsRequest = RequestOf<typeof A.DescribeGroupsApi>;
export type DescribeGroupsResponse = ResponseOf<typeof A.DescribeGroupsApi>;
export type ListGroupsRequest = RequestOf<typeof A.ListGroupsApi>;
export type ListGroupsResponse = ResponseOf<typeof A.ListGroupsApi>;
export type SaslHandshakeRequest = RequestOf<typeof A.SaslHandshakeApi>;
export type SaslHandshakeResponse = ResponseOf<typeof A.SaslHandshakeApi>;
export type ApiVersionsRequest = RequestOf<typeof A.ApiVersionsApi>;
export type ApiVersionsResponse = ResponseOf<typeof A.ApiVersionsApi>;
export type CreateTopicsRequest = RequestOf<typeof A.CreateTopicsApi>;
export type CreateTopicsResponse = ResponseOf<typeof A.CreateTopicsApi>;
export type DeleteTopicsRequest = RequestOf<typeof A.DeleteTopicsApi>;
export type DeleteTopicsResponse = ResponseOf<typeof A.DeleteTopicsApi>;
export type DeleteRecordsRequest = RequestOf<typeof A.DeleteRecordsApi>;
export type DeleteRecordsResponse = ResponseOf<typeof A.DeleteRecordsApi>;
export type InitProducerIdRequest = RequestOf<typeof A.InitProducerIdApi>;
export type InitProducerIdResponse = ResponseOf<typeof A.InitProducerIdApi>;
export type OffsetForLeaderEpochRequest = RequestOf<typeof A.OffsetForLeaderEpochApi>;
export type OffsetForLeaderEpochResponse = ResponseOf<typeof A.OffsetForLeaderEpochApi>;
export type DescribeConfigsRequest = RequestOf<typeof A.DescribeConfigsApi>;
export type DescribeConfigsResponse = ResponseOf<typeof A.DescribeConfigsApi>;
export type AlterConfigsRequest = RequestOf<typeof A.AlterConfigsApi>;
export type AlterConfigsResponse = ResponseOf<typeof A.AlterConfigsApi>;
export type SaslAuthenticateRequest = RequestOf<typeof A.SaslAuthenticateApi>;
export type SaslAuthenticateResponse = ResponseOf<typeof A.SaslAuthenticateApi>;
export type CreatePartitionsRequest = RequestOf<typeof A.CreatePartitionsApi>;
export type CreatePartitionsResponse = ResponseOf<typeof A.CreatePartitionsApi>;
export type DeleteGroupsRequest = RequestOf<typeof A.DeleteGroupsApi>;
export type DeleteGroupsResponse = ResponseOf<typeof A.DeleteGroupsApi>;
export type OffsetDeleteRequest = RequestOf<typeof A.OffsetDeleteApi>;
export type OffsetDeleteResponse = ResponseOf<typeof A.OffsetDeleteApi>;
export type DescribeClusterRequest = RequestOf<typeof A.DescribeClusterApi>;
export type DescribeClusterResponse = ResponseOf<typeof A.DescribeClusterApi>;

// Nested shapes that handlers pass around on their own.
type Item<T> = T extends readonly (infer E)[] ? E : never;

export type ProduceRequestTopic = Item<ProduceRequest['topicData']>;
export type ProduceRequestPartition = Item<ProduceRequestTopic['partitionData']>;
export type ProduceResponseTopic = Item<ProduceResponse['responses']>;
export type ProduceResponsePartition = Item<ProduceResponseTopic['partitionResponses']>;
export type FetchRequestTopic = Item<FetchRequest['topics']>;
export type FetchRequestPartition = Item<FetchRequestTopic['partitions']>;
export type FetchResponseTopic = Item<FetchResponse['responses']>;
export type FetchResponsePartition = Item<FetchResponseTopic['partitions']>;
export type ListOffsetsRequestTopic = Item<ListOffsetsRequest['topics']>;
export type ListOffsetsRequestPartition = Item<ListOffsetsRequestTopic['partitions']>;
export type ListOffsetsResponseTopic = Item<ListOffsetsResponse['topics']>;
export type ListOffsetsResponsePartition = Item<ListOffsetsResponseTopic['partitions']>;
export type MetadataResponseBroker = Item<MetadataResponse['brokers']>;
export type MetadataResponseTopic = Item<MetadataResponse['topics']>;
export type MetadataResponsePartition = Item<MetadataResponseTopic['partitions']>;
export type CreateTopicsRequestTopic = Item<CreateTopicsRequest['topics']>;
export type CreateTopicsResponseTopic = Item<CreateTopicsResponse['topics']>;
export type JoinGroupRequestProtocol = Item<JoinGroupRequest['protocols']>;
export type JoinGroupResponseMember = Item<JoinGroupResponse['members']>;
export type SyncGroupRequestAssignment = Item<SyncGroupRequest['assignments']>;
export type OffsetCommitRequestTopic = Item<OffsetCommitRequest['topics']>;
export type OffsetCommitRequestPartition = Item<OffsetCommitRequestTopic['partitions']>;
export type OffsetFetchResponseTopic = Item<OffsetFetchResponse['topics']>;
export type OffsetFetchResponseGroup = Item<OffsetFetchResponse['groups']>;
export type DescribeGroupsResponseGroup = Item<DescribeGroupsResponse['groups']>;
export type DescribeConfigsResponseResult = Item<DescribeConfigsResponse['results']>;

/** Request body type by API key. */
export interface RequestBodies {
  [ApiKey.Produce]: ProduceRequest;
  [ApiKey.Fetch]: FetchRequest;
  [ApiKey.ListOffsets]: ListOffsetsRequest;
  [ApiKey.Metadata]: MetadataRequest;
  [ApiKey.OffsetCommit]: OffsetCommitRequest;
  [ApiKey.OffsetFetch]: OffsetFetchRequest;
  [ApiKey.FindCoordinator]: FindCoordinatorRequest;
  [ApiKey.JoinGroup]: JoinGroupRequest;
  [ApiKey.Heartbeat]: HeartbeatRequest;
  [ApiKey.LeaveGroup]: LeaveGroupRequest;
  [ApiKey.SyncGroup]: SyncGroupRequest;
  [ApiKey.DescribeGroups]: DescribeGroupsRequest;
  [ApiKey.ListGroups]: ListGroupsRequest;
  [ApiKey.SaslHandshake]: SaslHandshakeRequest;
  [ApiKey.ApiVersions]: ApiVersionsRequest;
  [ApiKey.CreateTopics]: CreateTopicsRequest;
  [ApiKey.DeleteTopics]: DeleteTopicsRequest;
  [ApiKey.DeleteRecords]: DeleteRecordsRequest;
  [ApiKey.InitProducerId]: InitProducerIdRequest;
  [ApiKey.OffsetForLeaderEpoch]: OffsetForLeaderEpochRequest;
  [ApiKey.DescribeConfigs]: DescribeConfigsRequest;
  [ApiKey.AlterConfigs]: AlterConfigsRequest;
  [ApiKey.SaslAuthenticate]: SaslAuthenticateRequest;
  [ApiKey.CreatePartitions]: CreatePartitionsRequest;
  [ApiKey.DeleteGroups]: DeleteGroupsRequest;
  [ApiKey.OffsetDelete]: OffsetDeleteRequest;
  [ApiKey.DescribeCluster]: DescribeClusterRequest;
}

/** Response body type by API key. */
export interface ResponseBodies {
  [ApiKey.Produce]: ProduceResponse;
  [ApiKey.Fetch]: FetchResponse;
  [ApiKey.ListOffsets]: ListOffsetsResponse;
  [ApiKey.Metadata]: MetadataResponse;
  [ApiKey.OffsetCommit]: OffsetCommitResponse;
  [ApiKey.OffsetFetch]: OffsetFetchResponse;
  [ApiKey.FindCoordinator]: FindCoordinatorResponse;
  [ApiKey.JoinGroup]: JoinGroupResponse;
  [ApiKey.Heartbeat]: HeartbeatResponse;
  [ApiKey.LeaveGroup]: LeaveGroupResponse;
  [ApiKey.SyncGroup]: SyncGroupResponse;
  [ApiKey.DescribeGroups]: DescribeGroupsResponse;
  [ApiKey.ListGroups]: ListGroupsResponse;
  [ApiKey.SaslHandshake]: SaslHandshakeResponse;
  [ApiKey.ApiVersions]: ApiVersionsResponse;
  [ApiKey.CreateTopics]: CreateTopicsResponse;
  [ApiKey.DeleteTopics]: DeleteTopicsResponse;
  [ApiKey.DeleteRecords]: DeleteRecordsResponse;
  [ApiKey.InitProducerId]: InitProducerIdResponse;
  [ApiKey.OffsetForLeaderEpoch]: OffsetForLeaderEpochResponse;
  [ApiKey.DescribeConfigs]: DescribeConfigsResponse;
  [ApiKey.AlterConfigs]: AlterConfigsResponse;
  [ApiKey.SaslAuthenticate]: SaslAuthenticateResponse;
  [ApiKey.CreatePartitions]: CreatePartitionsResponse;
  [ApiKey.DeleteGroups]: DeleteGroupsResponse;
  [ApiKey.OffsetDelete]: OffsetDeleteResponse;
  [ApiKey.DescribeCluster]: DescribeClusterResponse;
}

/** The request body for an API key known at compile time; `unknown` for a plain number. */
export type RequestBody<K extends number> = K extends keyof RequestBodies
  ? RequestBodies[K]
  : unknown;

/** The response body for an API key known at compile time; `unknown` for a plain number. */
export type ResponseBody<K extends number> = K extends keyof ResponseBodies
  ? ResponseBodies[K]
  : unknown;

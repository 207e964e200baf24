// Every API the codec knows, keyed by API key. Adding an API means writing its description in
// this folder and listing it here; the codec, the types and the tests pick it up from this table.
import type { ApiSpec } from '../schema.ts';
import { AlterConfigsApi } from './alter-configs.ts';
import { ApiVersionsApi } from './api-versions.ts';
import { CreatePartitionsApi } from './create-partitions.ts';
import { CreateTopicsApi } from './create-topics.ts';
import { DeleteGroupsApi } from './delete-groups.ts';
import { DeleteRecordsApi } from './delete-records.ts';
import { DeleteTopicsApi } from './delete-topics.ts';
import { DescribeClusterApi } from './describe-cluster.ts';
import { DescribeConfigsApi } from './describe-configs.ts';
import { DescribeGroupsApi } from './describe-groups.ts';
import { FetchApi } from './fetch.ts';
import { FindCoordinatorApi } from './find-coordinator.ts';
import { HeartbeatApi } from './heartbeat.ts';
import { InitProducerIdApi } from './init-producer-id.ts';
import { JoinGroupApi } from './join-group.ts';
import { LeaveGroupApi } from './leave-group.ts';
import { ListGroupsApi } from './list-groups.ts';
import { ListOffsetsApi } from './list-offsets.ts';
import { MetadataApi } from './metadata.ts';
import { OffsetCommitApi } from './offset-commit.ts';
import { OffsetDeleteApi } from './offset-delete.ts';
import { OffsetFetchApi } from './offset-fetch.ts';
import { OffsetForLeaderEpochApi } from './offset-for-leader-epoch.ts';
import { ProduceApi } from './produce.ts';
import { SaslAuthenticateApi } from './sasl-authenticate.ts';
import { SaslHandshakeApi } from './sasl-handshake.ts';
import { SyncGroupApi } from './sync-group.ts';

export {
  AlterConfigsApi,
  ApiVersionsApi,
  CreatePartitionsApi,
  CreateTopicsApi,
  DeleteGroupsApi,
  DeleteRecordsApi,
  DeleteTopicsApi,
  DescribeClusterApi,
  DescribeConfigsApi,
  DescribeGroupsApi,
  FetchApi,
  FindCoordinatorApi,
  HeartbeatApi,
  InitProducerIdApi,
  JoinGroupApi,
  LeaveGroupApi,
  ListGroupsApi,
  ListOffsetsApi,
  MetadataApi,
  OffsetCommitApi,
  OffsetDeleteApi,
  OffsetFetchApi,
  OffsetForLeaderEpochApi,
  ProduceApi,
  SaslAuthenticateApi,
  SaslHandshakeApi,
  SyncGroupApi,
};

export const API_SPECS: ReadonlyMap<number, ApiSpec<unknown, unknown>> = new Map(
  [
    ProduceApi,
    FetchApi,
    ListOffsetsApi,
    MetadataApi,
    OffsetCommitApi,
    OffsetFetchApi,
    FindCoordinatorApi,
    JoinGroupApi,
    HeartbeatApi,
    LeaveGroupApi,
    SyncGroupApi,
    DescribeGroupsApi,
    ListGroupsApi,
    SaslHandshakeApi,
    ApiVersionsApi,
    CreateTopicsApi,
    DeleteTopicsApi,
    DeleteRecordsApi,
    InitProducerIdApi,
    OffsetForLeaderEpochApi,
    DescribeConfigsApi,
    AlterConfigsApi,
    SaslAuthenticateApi,
    CreatePartitionsApi,
    DeleteGroupsApi,
    OffsetDeleteApi,
    DescribeClusterApi,
  ].map((spec) => [spec.key, spec as ApiSpec<unknown, unknown>]),
);

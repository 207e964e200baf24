// DescribeConfigs (key 32): a topic's configs, every known key with its effective value and where
// it comes from (set on the topic, or the default), and a few read-only settings of this data node
// as the broker resource. Admin tools and consoles call it; nothing here changes configs.
import type { ClusterSnapshot } from '../../shared/cluster-metadata.ts';
import { ErrorCode } from '../../shared/kafka-errors.ts';
import {
  ApiKey,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
  type DescribeConfigsResponseResult,
  type Encodable,
} from '../../shared/protocol/index.ts';
import { describeTopicConfigs } from '../../shared/topic-config.ts';
import { replicationFactorOf } from '../topic-settings.ts';
import type { ApiHandler, NodeContext } from './context.ts';
import { ConfigSource } from './create-topics.ts';

type Result = Encodable<DescribeConfigsResponseResult>;
type Resource = DescribeConfigsRequest['resources'][number];

const ResourceType = { TOPIC: 2, BROKER: 4 } as const;

interface Entry {
  name: string;
  value: string | null;
  source: number;
  readOnly: boolean;
  documentation: string | null;
}

export const describeConfigsHandler: ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse> = {
  apiKey: ApiKey.DescribeConfigs,

  async handle(request, ctx) {
    const results = request.resources.map((resource) => {
      const entries = entriesOf(ctx.node, resource);
      if (!Array.isArray(entries)) return failed(resource, entries.code, entries.message);

      const wanted = resource.configurationKeys;
      const selected = wanted === null ? entries : entries.filter((e) => wanted.includes(e.name));
      return described(resource, selected, request.includeSynonyms, request.includeDocumentation);
    });
    return { throttleTimeMs: 0, results };
  },

  errorResponse(request, code, message) {
    return { throttleTimeMs: 0, results: request.resources.map((r) => failed(r, code, message)) };
  },
};

function entriesOf(
  node: NodeContext,
  resource: Resource,
): Entry[] | { code: number; message: string } {
  if (resource.resourceType === ResourceType.TOPIC) return topicEntries(node.metadata(), resource);
  if (resource.resourceType === ResourceType.BROKER) return brokerEntries(node, resource);
  return { code: ErrorCode.INVALID_REQUEST, message: `resource type ${resource.resourceType}` };
}

function topicEntries(view: ClusterSnapshot, resource: Resource) {
  const topic = view.topics.find((t) => t.name === resource.resourceName);
  if (topic === undefined) {
    return {
      code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      message: `no topic ${resource.resourceName}`,
    };
  }

  return describeTopicConfigs(topic.configs, replicationFactorOf(topic)).map((entry) => ({
    name: entry.name,
    value: entry.value,
    source: entry.isDefault ? ConfigSource.DEFAULT_CONFIG : ConfigSource.DYNAMIC_TOPIC_CONFIG,
    readOnly: false,
    documentation: entry.doc,
  }));
}

/** This node's own settings; other nodes describe theirs. An empty name means this node. */
function brokerEntries(node: NodeContext, resource: Resource) {
  const self = String(node.nodeId);
  if (resource.resourceName !== '' && resource.resourceName !== self) {
    return { code: ErrorCode.INVALID_REQUEST, message: `ask node ${resource.resourceName} itself` };
  }

  const registered = node.metadata().dataNodes.find((n) => n.nodeId === node.nodeId);
  const host = registered?.host ?? node.config.advertisedHost ?? node.config.host;
  const port = registered?.kafkaPort ?? node.config.kafkaPort;
  const settings: [string, string | null][] = [
    ['broker.id', self],
    ['node.id', self],
    ['broker.rack', node.config.rack ?? null],
    ['advertised.listeners', `PLAINTEXT://${host}:${port}`],
    ['listeners', `PLAINTEXT://${node.config.host}:${port}`],
    ['log.dirs', node.config.dataDir],
    ['socket.request.max.bytes', String(node.config.maxRequestBytes)],
    ['auto.create.topics.enable', 'false'],
  ];

  return settings.map(([name, value]) => ({
    name,
    value,
    source: ConfigSource.STATIC_BROKER_CONFIG,
    readOnly: true,
    documentation: null,
  }));
}

function described(
  resource: Resource,
  entries: Entry[],
  includeSynonyms: boolean,
  includeDocumentation: boolean,
): Result {
  const configs = entries.map((e) => ({
    name: e.name,
    value: e.value,
    readOnly: e.readOnly,
    isDefault: e.source === ConfigSource.DEFAULT_CONFIG,
    configSource: e.source,
    isSensitive: false,
    synonyms: includeSynonyms ? [{ name: e.name, value: e.value, source: e.source }] : [],
    documentation: includeDocumentation ? e.documentation : null,
  }));

  return {
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
    configs,
  };
}

function failed(resource: Resource, code: number, message: string): Result {
  return {
    errorCode: code,
    errorMessage: message,
    resourceType: resource.resourceType,
    resourceName: resource.resourceName,
    configs: [],
  };
}

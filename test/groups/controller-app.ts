// An in-process controller for offset store tests: one registered data node and one topic, with
// requests answered by the controller's Hono app as the data node's controller client would see
// them (JSON, or a ControllerProblem carrying the status and Kafka error code).
import { buildApp } from '../../control-plane/app.ts';
import { createControllerCore, type ControllerCore } from '../../control-plane/controller.ts';
import { openStateDb } from '../../control-plane/db/database.ts';
import { ControllerProblem } from '../../data-node/controller-client.ts';
import { silentLogger } from '../../shared/logger.ts';

export interface ControllerApp {
  core: ControllerCore;
  /** Sends one request to the app; resolves with its JSON or throws a ControllerProblem. */
  request(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
}

/** A controller with data node 1 registered and topic `t` of `partitions` partitions. */
export async function controllerWithTopic(partitions: number): Promise<ControllerApp> {
  const core = createControllerCore({
    controllerId: 1,
    db: openStateDb(':memory:').db,
    dataNodeSessionTimeoutMs: 6000,
    logger: silentLogger,
  });
  const app = buildApp(core);
  await core.log.propose({ type: 'initCluster', clusterId: 'c' });
  await core.log.propose({
    type: 'registerDataNode',
    nodeId: 1,
    host: '127.0.0.1',
    kafkaPort: 9092,
    rack: null,
    incarnationId: 'one',
  });
  const topic = { name: 't', partitions, replicationFactor: 1, configs: {} };
  await core.log.propose({ type: 'createTopic', topicId: core.newTopicId(), ...topic });

  const request = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
    if (body !== undefined) init.body = JSON.stringify(body);

    const response = await app.request(path, init);
    const answer = (await response.json()) as Record<string, unknown>;
    if (response.ok) return answer;
    const code = answer.kafkaErrorCode as number | undefined;
    throw new ControllerProblem(response.status, String(answer.detail), code, undefined);
  };
  return { core, request };
}

// Starting and stopping one controller process: validate its configuration, open its database
// (applying migrations and any log entries left from the last run), make sure the cluster has an
// id, start data node liveness checks, and serve the HTTP API on `adminPort`.
//
// The control plane has a single member for now: commands are committed by a local durable log.
// A configuration naming other controllers in `peers` is refused, because several independent
// single-member controllers would each believe they lead the cluster.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import { z } from 'zod';
import type { Logger } from '../shared/logger.ts';
import { buildApp } from './app.ts';
import { createControllerCore, ensureClusterId } from './controller.ts';
import { openStateDb } from './db/database.ts';

const Port = z.number().int().min(0).max(65535);

export const controllerConfigSchema = z.strictObject({
  controllerId: z.number().int().min(0),
  /** Generated at first start if absent, then stored; a differing stored one stops start. */
  clusterId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of letters, digits, . _ -')
    .optional(),
  dataDir: z.string().min(1),
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port (tests); the chosen one is in `adminUrl`. */
  adminPort: Port,
  raftPort: Port.optional(),
  peers: z
    .array(
      z.strictObject({
        id: z.number().int().min(0),
        host: z.string().min(1),
        adminPort: Port,
        raftPort: Port,
      }),
    )
    .default([]),
  /** A data node silent for this long is fenced and loses its leaderships. */
  dataNodeSessionTimeoutMs: z.number().int().min(100).default(6000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type ControllerConfig = z.infer<typeof controllerConfigSchema>;

export interface RunningController {
  stop(): Promise<void>;
  /** Base URL of the admin API, e.g. http://127.0.0.1:9600. */
  adminUrl: string;
}

/** Grace for requests in flight at stop before their connections are cut. */
const STOP_GRACE_MS = 2000;

export async function startController(
  config: ControllerConfig,
  logger: Logger,
): Promise<RunningController> {
  refuseOtherPeers(config);
  const log = logger.child({ component: 'controller' });
  const opened = openStateDb(join(config.dataDir, 'controller.sqlite'));

  let adminUrl: string | null = null;
  let stopping = false;
  const core = createControllerCore({
    controllerId: config.controllerId,
    db: opened.db,
    dataNodeSessionTimeoutMs: config.dataNodeSessionTimeoutMs,
    logger,
    adminUrl: () => adminUrl,
  });

  try {
    const clusterId = await ensureClusterId(core, config.clusterId, config.dataDir);
    const app = buildApp(core);
    const server = createAdaptorServer({
      fetch: async (request, env) => {
        const response = await app.fetch(request, env);
        // While stopping, close each connection after its answer instead of keeping it alive.
        if (stopping) response.headers.set('connection', 'close');
        return response;
      },
    });
    const address = await listen(server, config.adminPort, config.host);
    adminUrl = `http://${urlHost(config.host)}:${address.port}`;
    core.liveness.start();
    log.info(
      { clusterId, adminUrl, appliedIndex: core.stateMachine.appliedIndex },
      'controller started',
    );

    const stopOnce = () => {
      stopping = true;
      return stop(server, core, opened.close, log);
    };
    return { adminUrl, stop: stopOnce };
  } catch (err) {
    core.close();
    opened.close();
    throw err;
  }
}

function refuseOtherPeers(config: ControllerConfig): void {
  const others = config.peers.filter((p) => p.id !== config.controllerId);
  if (others.length > 0) {
    throw new Error(
      `peers lists controllers ${others.map((p) => p.id).join(', ')}, but this controller ` +
        'runs a single-member control plane; remove the other peers',
    );
  }
}

type Server = ReturnType<typeof createAdaptorServer>;

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

async function stop(
  server: Server,
  core: ReturnType<typeof createControllerCore>,
  closeDb: () => void,
  logger: Logger,
): Promise<void> {
  core.close();

  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const http = server as unknown as { closeIdleConnections(): void; closeAllConnections(): void };
  http.closeIdleConnections();
  const cut = setTimeout(() => http.closeAllConnections(), STOP_GRACE_MS);
  await closed;
  clearTimeout(cut);

  closeDb();
  logger.info('controller stopped');
}

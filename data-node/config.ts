// The data node's configuration: one zod schema, filled by shared/config.ts from a JSON file,
// WEIR_* environment variables and flags. Unknown fields are refused so a typo is never silently
// ignored.
import { z } from 'zod';

const MiB = 1024 * 1024;

/** Node.js timers hold at most 2^31 - 1 ms; a longer delay fires after 1 ms instead. */
const TIMER_MS_MAX = 2 ** 31 - 1;

/**
 * The controller holds a metadata poll for at most a minute, and a heartbeat answered later than
 * that has long outlived any session timeout.
 */
const CONTROLLER_WAIT_MS_MAX = 60_000;

/** A duration in whole ms that a timer can hold; `min` 0 where zero means off. */
function durationMs(min: 0 | 1 = 1, max = TIMER_MS_MAX) {
  return z
    .number('must be a number of milliseconds')
    .int('must be a whole number of milliseconds')
    .min(min, `must be at least ${min} ms`)
    .max(max, `must be at most ${max} ms`);
}

export const dataNodeConfigSchema = z
  .strictObject({
    nodeId: z.number().int().nonnegative(),
    dataDir: z.string().min(1),
    /** Address the Kafka listener binds to. */
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port (tests); the port actually bound is what gets registered. */
    kafkaPort: z.number().int().min(0).max(65535),
    /** Host that clients are told to connect to; defaults to `host`. */
    advertisedHost: z.string().min(1).optional(),
    rack: z.string().min(1).nullable().optional(),
    /** Admin URLs of the controllers, e.g. http://10.0.0.1:9600; any one of them will do. */
    controllers: z.array(z.url()).min(1),
    /** Off only for tests and benchmarks: acknowledged records may be lost in a crash. */
    fsync: z.boolean().default(true),
    logLevel: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    maxRequestBytes: z
      .number()
      .int()
      .positive()
      .default(100 * MiB),
    /**
     * Bytes of Kafka requests read and not yet answered, over all connections: a connection that
     * would pass it is closed. At least maxRequestBytes plus 4.
     */
    maxQueuedRequestBytes: z
      .number()
      .int()
      .positive()
      .default(512 * MiB),
    /**
     * Kafka connections open at once. By default half the process's open-file limit, at most
     * 10,000: partition logs need descriptors too.
     */
    maxConnections: z.number().int().positive().optional(),
    /** A request must arrive whole within this long of its first byte. */
    requestReadTimeoutMs: durationMs().default(60_000),
    /** A connection with nothing in flight and no traffic for this long is closed. */
    connectionIdleTimeoutMs: durationMs().default(600_000),
    /** The most record bytes one Fetch answer carries, whatever the request asks (Kafka's 55 MiB). */
    fetchMaxBytes: z
      .number()
      .int()
      .positive()
      .default(55 * MiB),
    /** Between heartbeats to the leader controller; its session timeout allows several missed. */
    heartbeatIntervalMs: durationMs().default(500),
    /**
     * A heartbeat unanswered for this long is given up, and the next goes to another controller:
     * a paused leader controller must not hold heartbeats past the new leader's session timeout.
     */
    heartbeatTimeoutMs: durationMs(1, CONTROLLER_WAIT_MS_MAX).default(1000),
    /** How long one metadata long poll waits at the controller for a change. */
    metadataPollWaitMs: durationMs(1, CONTROLLER_WAIT_MS_MAX).default(10_000),
    /**
     * How often retention runs over the partitions. Retention itself, segment sizes and message
     * size limits are topic configs (shared/topic-config.ts), alike on every replica, so they are
     * not set per node.
     */
    retentionCheckIntervalMs: durationMs().default(300_000),
    /**
     * A follower that has not caught up with its leader for this long leaves the ISR, so acks=all
     * produces stop waiting for it. Kafka's default is 30 s; Weir aims at failover in seconds.
     */
    replicaLagTimeMaxMs: durationMs().default(5000),
    /** How long a follower's fetch waits at the leader for new records. */
    replicaFetchWaitMaxMs: durationMs().default(500),
    /** Bytes a follower fetches per partition and request. */
    replicaFetchMaxBytes: z.number().int().positive().default(MiB),
    /** Pause before a follower asks a leader again after a failure. */
    replicaFetchBackoffMs: durationMs().default(100),
    /** A leader silent for this long (beyond the fetch wait) is taken as gone and reconnected. */
    replicaRequestTimeoutMs: durationMs().default(3000),
    /**
     * At stop, how long to wait for the controller to move this node's leaderships elsewhere
     * before closing anyway.
     */
    controlledShutdownTimeoutMs: durationMs(0).default(5000),
    /**
     * A dynamic group member whose connection to this node (its coordinator) closes is removed
     * after this long unless it is heard from on a new connection, instead of after its whole
     * session timeout: a crashed client is noticed in about this time. 0 turns this off. A live
     * client that reconnects but stays silent longer than this is removed and rebalances.
     */
    groupMemberConnectionLossGraceMs: durationMs(0).default(1000),
  })
  .refine((c) => c.maxQueuedRequestBytes >= c.maxRequestBytes + 4, {
    message: 'maxQueuedRequestBytes must hold one request of maxRequestBytes (plus 4 bytes)',
    path: ['maxQueuedRequestBytes'],
  })
  .refine((c) => c.advertisedHost !== undefined || !isWildcard(c.host), {
    message: 'advertisedHost is required when host is a wildcard address',
    path: ['advertisedHost'],
  });
export type DataNodeConfig = z.infer<typeof dataNodeConfigSchema>;

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

// The data node's configuration: one zod schema, filled by shared/config.ts from a JSON file,
// WEIR_* environment variables and flags. Unknown fields are refused so a typo is never silently
// ignored.
import { z } from 'zod';

const MiB = 1024 * 1024;

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
    heartbeatIntervalMs: z.number().int().positive().default(1000),
    /** How long one metadata long poll waits at the controller for a change. */
    metadataPollWaitMs: z.number().int().positive().default(10_000),
    /**
     * How often retention runs over the partitions. Retention itself, segment sizes and message
     * size limits are topic configs (shared/topic-config.ts), alike on every replica, so they are
     * not set per node.
     */
    retentionCheckIntervalMs: z.number().int().positive().default(300_000),
  })
  .refine((c) => c.advertisedHost !== undefined || !isWildcard(c.host), {
    message: 'advertisedHost is required when host is a wildcard address',
    path: ['advertisedHost'],
  });
export type DataNodeConfig = z.infer<typeof dataNodeConfigSchema>;

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

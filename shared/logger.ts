// Structured logging for every Weir process: pino JSON lines on stdout, pretty-printed only when a
// person watches a terminal. Components take a child logger bound to the ids that tie lines
// together (node, partition, term, epoch, group).
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Process-wide bindings, e.g. `{ role: 'data-node', nodeId: 1 }`. */
  base?: Record<string, unknown>;
  /** Force pretty output; by default pretty only when stdout is a TTY. */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env.WEIR_LOG_LEVEL as LevelWithSilent) ?? 'info';
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  const transport = pretty
    ? { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l' } }
    : undefined;

  return pino({ level, base: options.base ?? {}, transport });
}

/** A logger that drops everything: for unit tests and pure cores that take a logger anyway. */
export const silentLogger: Logger = pino({ level: 'silent' });

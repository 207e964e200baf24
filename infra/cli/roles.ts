// Running one role as a process: load and validate its config, start it, and stop it cleanly on
// SIGTERM or SIGINT. A config error ends the process with exit code 2 before anything starts.
import { loadConfig } from '../../shared/config.ts';
import { createLogger, type Logger } from '../../shared/logger.ts';
import { controllerConfigSchema, startController } from '../../control-plane/main.ts';
import { dataNodeConfigSchema, startDataNode } from '../../data-node/main.ts';

interface Running {
  stop(): Promise<void>;
}

export async function runController(
  configFile: string,
  overrides: Record<string, unknown> = {},
): Promise<void> {
  const config = loadConfig(controllerConfigSchema, { file: configFile, overrides });
  const logger = createLogger({
    level: config.logLevel,
    base: { role: 'controller', controllerId: config.controllerId },
  });

  const running = await startOrExit(logger, () => startController(config, logger));
  stopOnSignals(logger, running);

  // A controller that finds out after start that it cannot serve (its quorum belongs to another
  // cluster) has stopped itself; the process ends too.
  void running.failed.then((err) => {
    console.error(`weir: controller stopped: ${err.message}`);
    process.exit(1);
  });
}

export async function runDataNode(
  configFile: string,
  overrides: Record<string, unknown> = {},
): Promise<void> {
  const config = loadConfig(dataNodeConfigSchema, { file: configFile, overrides });
  const logger = createLogger({
    level: config.logLevel,
    base: { role: 'data-node', nodeId: config.nodeId },
  });

  const running = await startOrExit(logger, () => startDataNode(config, logger));
  stopOnSignals(logger, running);
}

async function startOrExit<R extends Running>(logger: Logger, start: () => Promise<R>): Promise<R> {
  try {
    return await start();
  } catch (err) {
    logger.fatal({ err }, 'start failed');
    console.error(`weir: cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
}

function stopOnSignals(logger: Logger, running: Running): void {
  let stopping = false;

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };

  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

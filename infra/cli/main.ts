// The `weir` command: one subcommand per role (`controller`, `data-node`) and `dev`, which runs a
// whole local cluster as separate processes. Everything printed here is for a person or a script at
// a terminal; the processes themselves log through pino.
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../../shared/config.ts';
import { runController, runDataNode } from './roles.ts';
import { runDev } from './dev.ts';

function intFlag(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

const program = new Command('weir')
  .description('Weir: a replicated, partitioned log that speaks the Kafka protocol')
  .showHelpAfterError();

program
  .command('controller')
  .description('run one controller of the control plane')
  .requiredOption('--config <file>', 'JSON config file')
  .action((opts: { config: string }) => runController(opts.config));

program
  .command('data-node')
  .description('run one data node')
  .requiredOption('--config <file>', 'JSON config file')
  .action((opts: { config: string }) => runDataNode(opts.config));

program
  .command('dev')
  .description('run a local cluster in the foreground until Ctrl-C')
  .option('--data-dir <dir>', 'where configs, data and logs live', '.weir/dev')
  .option('--controllers <n>', 'number of controllers', intFlag)
  .option('--data-nodes <n>', 'number of data nodes', intFlag)
  .option('--kafka-port <port>', "first data node's Kafka port; the next ones follow", intFlag)
  .option('--admin-port <port>', "first controller's admin port; the next ones follow", intFlag)
  .action(runDev);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`weir: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

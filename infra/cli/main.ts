// The `weir` command: one subcommand per role (`controller`, `data-node`) and `dev`, which runs a
// whole local cluster as separate processes. Everything printed here is for a person or a script at
// a terminal; the processes themselves log through pino.
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../../shared/config.ts';
import { runController, runDataNode } from './roles.ts';
import { runDev } from './dev.ts';

/** `--set field=value`: a config field from the command line, JSON-parsed when it parses. */
function setFlag(pair: string, previous: Record<string, unknown>): Record<string, unknown> {
  const at = pair.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected field=value');

  const raw = pair.slice(at + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // Not JSON: the value is the string as given.
  }
  return { ...previous, [pair.slice(0, at)]: value };
}

function intFlag(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

interface RoleOptions {
  config: string;
  set: Record<string, unknown>;
}

const program = new Command('weir')
  .description('Weir: a replicated, partitioned log that speaks the Kafka protocol')
  .showHelpAfterError();

program
  .command('controller')
  .description('run one controller of the control plane')
  .requiredOption('--config <file>', 'JSON config file')
  .option('--set <field=value>', 'override a config field (repeatable)', setFlag, {})
  .action((opts: RoleOptions) => runController(opts.config, opts.set));

program
  .command('data-node')
  .description('run one data node')
  .requiredOption('--config <file>', 'JSON config file')
  .option('--set <field=value>', 'override a config field (repeatable)', setFlag, {})
  .action((opts: RoleOptions) => runDataNode(opts.config, opts.set));

program
  .command('dev')
  .description('run a local cluster in the foreground until Ctrl-C')
  .option('--data-dir <dir>', 'where configs, data and logs live', '.weir/dev')
  .option('--controllers <n>', 'number of controllers', intFlag)
  .option('--data-nodes <n>', 'number of data nodes', intFlag)
  .option('--kafka-port <port>', "first data node's Kafka port; the next ones follow", intFlag)
  .option('--admin-port <port>', "first controller's admin port; the next ones follow", intFlag)
  .option('--raft-port <port>', "first controller's Raft port (default: admin port + 100)", intFlag)
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

// Reads and runs a scenario script: blocks of optional `#` comments, one command, a `----` line and
// the trace the command is expected to print, separated by blank lines. The first command builds
// the cluster (`cluster VOTERS [name=value...]`, the names of ScenarioOptions). Running returns
// the script rewritten with the traces actually printed, so a test compares texts and a
// regeneration writes them back.
import { ScenarioCluster, type ScenarioOptions } from './scenario-cluster.ts';

interface Block {
  readonly comments: string[];
  readonly command: string;
  readonly expected: string[];
}

export function parseScenario(text: string): Block[] {
  const blocks: Block[] = [];
  const chunks = text.split(/\n\s*\n/).map((c) => c.split('\n').filter((l) => l.length > 0));

  for (const lines of chunks) {
    if (lines.length === 0) continue;
    const comments = lines.filter((l) => l.startsWith('#'));
    const rest = lines.filter((l) => !l.startsWith('#'));
    if (rest.length === 0) {
      blocks.push({ comments, command: '', expected: [] });
      continue;
    }
    const separator = rest.indexOf('----');
    const command = rest[0];
    const expected = separator < 0 ? [] : rest.slice(separator + 1);
    blocks.push({ comments, command, expected });
  }
  return blocks;
}

/** Runs every block; returns the script as it should read given what actually happened. */
export function runScenario(text: string): string {
  let cluster: ScenarioCluster | null = null;
  const rendered: string[] = [];

  for (const block of parseScenario(text)) {
    const lines = [...block.comments];
    if (block.command !== '') {
      const [name, ...args] = block.command.trim().split(/\s+/);
      let output: string[];
      if (name === 'cluster') {
        cluster = new ScenarioCluster(Number(args[0]), parseOptions(args.slice(1)));
        output = [];
      } else {
        if (cluster === null) throw new Error('the first command must be `cluster`');
        output = cluster.run(name, args);
      }
      lines.push(block.command, '----', ...(output.length > 0 ? output : ['ok']));
    }
    rendered.push(lines.join('\n'));
  }
  return rendered.join('\n\n') + '\n';
}

function parseOptions(args: readonly string[]): ScenarioOptions {
  const options: Record<string, number | boolean> = {};
  for (const arg of args) {
    const [name, value] = arg.split('=');
    options[name] = value === 'true' ? true : value === 'false' ? false : Number(value);
  }
  return options as ScenarioOptions;
}

// Child processes the benchmarks start themselves (ceiling replicas, the loopback sink): each is a
// TypeScript program run through tsx that reports on stdout in JSON lines, the first of which says
// it is ready. Everything started here is stopped by the run that started it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface Child {
  readonly process: ChildProcess;
  /** The next JSON line the program prints, after the ready line. */
  nextMessage(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts `test/bench/<relativePath>` with the given arguments and waits for its ready line. */
export async function startChild(relativePath: string, args: string[]): Promise<Child> {
  const file = resolve(HERE, relativePath);
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });

  const lines = createInterface({ input: child.stdout! });
  const queue: Record<string, unknown>[] = [];
  const waiters: ((message: Record<string, unknown>) => void)[] = [];
  lines.on('line', (line) => {
    const message = JSON.parse(line) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(message);
    else queue.push(message);
  });

  const exited = once(child, 'exit');
  const nextMessage = () =>
    new Promise<Record<string, unknown>>((done, fail) => {
      const queued = queue.shift();
      if (queued !== undefined) return done(queued);
      waiters.push(done);
      exited.then(() => fail(new Error(`${relativePath} exited before answering`)));
    });

  await nextMessage();
  return {
    process: child,
    nextMessage,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Prints one JSON line to the parent; the child side of `nextMessage()`. */
export function tellParent(message: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(message) + '\n');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Polls `check` until it answers true or the deadline passes; returns whether it did. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;

  while (Date.now() < deadline) {
    try {
      if (await check()) return true;
    } catch {
      // Not answering yet counts as not ready.
    }
    await sleep(intervalMs);
  }
  return false;
}

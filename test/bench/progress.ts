// Progress while the benchmarks run: a bar with the current step on a terminal (cli-progress),
// plain numbered lines on stderr otherwise, so logs of unattended runs still show where it was.
import cliProgress from 'cli-progress';

export class Progress {
  private readonly multibar: cliProgress.MultiBar | null;
  private readonly bar: cliProgress.SingleBar | null;
  private done = 0;

  constructor(private readonly total: number) {
    if (process.stderr.isTTY !== true) {
      this.multibar = null;
      this.bar = null;
      return;
    }
    this.multibar = new cliProgress.MultiBar(
      {
        format: ' {bar} {value}/{total} | {elapsed}s | {step}',
        hideCursor: true,
        clearOnComplete: true,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar = this.multibar.create(total, 0, { step: 'starting', elapsed: 0 });
  }

  /** Runs one step under a label and counts it done however it ends. */
  async step<T>(label: string, work: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const elapsed = () => Math.round(process.uptime());
    if (this.bar !== null) this.bar.update(this.done, { step: label, elapsed: elapsed() });
    else process.stderr.write(`[${this.done + 1}/${this.total}] ${label}\n`);

    try {
      return await work();
    } finally {
      this.done++;
      this.bar?.update(this.done, { step: label, elapsed: elapsed() });
      if (this.bar === null)
        process.stderr.write(`      ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
  }

  /** A line above the bar (or on stderr). */
  log(line: string): void {
    if (this.multibar !== null) this.multibar.log(line + '\n');
    else process.stderr.write(line + '\n');
  }

  stop(): void {
    this.multibar?.stop();
  }
}

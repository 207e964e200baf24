// Keeping a fixed number of acknowledged operations in flight: the shape of every "as fast as the
// client allows" loop here. `start(i)` begins operation i and resolves on its acknowledgement;
// the loop starts no operation once `shouldStop()` says so and ends when all started have settled.

export interface WindowOutcome {
  started: number;
  succeeded: number;
  failed: number;
}

export function runWindowed(options: {
  window: number;
  start: (index: number) => Promise<void>;
  /** Asked before each start, with the number started so far. */
  shouldStop: (started: number) => boolean;
  /** Called for a failed operation; the loop goes on (a failover workload expects failures). */
  onFailure?: (err: unknown) => void;
}): Promise<WindowOutcome> {
  const outcome: WindowOutcome = { started: 0, succeeded: 0, failed: 0 };
  let inFlight = 0;

  return new Promise((done) => {
    const settle = (ok: boolean, err?: unknown) => {
      inFlight--;
      if (ok) outcome.succeeded++;
      else {
        outcome.failed++;
        options.onFailure?.(err);
      }
      fill();
    };

    const fill = () => {
      while (inFlight < options.window && !options.shouldStop(outcome.started)) {
        inFlight++;
        options.start(outcome.started++).then(
          () => settle(true),
          (err: unknown) => settle(false, err),
        );
      }
      if (inFlight === 0) done(outcome);
    };

    fill();
  });
}

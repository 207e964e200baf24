// Time for the group coordinator's edge: a monotonic now() and one-shot timers. The group state
// machine never reads time itself; tests drive the coordinator with a fake clock instead.
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Milliseconds on a monotonic scale; only differences mean anything. */
  now(): number;
  /** Calls `callback` once after `delayMs`; the returned function cancels it. */
  setTimer(delayMs: number, callback: () => void): () => void;
}

/** setTimeout's limit; longer delays would fire at once. */
const TIMER_DELAY_MAX_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => performance.now(),

  setTimer(delayMs, callback) {
    const timer = setTimeout(callback, Math.min(Math.max(0, delayMs), TIMER_DELAY_MAX_MS));
    // Group deadlines alone must not keep a stopping process alive.
    timer.unref();
    return () => clearTimeout(timer);
  },
};

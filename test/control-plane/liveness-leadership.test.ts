// Data node liveness across changes of leader controller, with a hand-driven clock and timers:
// each new term gives every node a fresh session plus the new-leader grace before any fencing,
// and a leader whose timer fires long after it should have (the process was paused) starts every
// session afresh instead of fencing nodes whose heartbeats it could not have read.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createControllerCore } from '../../control-plane/controller.ts';
import { readDataNode } from '../../control-plane/db/queries.ts';
import { silentLogger } from '../../shared/logger.ts';
import { memoryDb } from './helpers.ts';

const TIMEOUT_MS = 6000;
const GRACE_MS = 10_000;
/** The check interval for a 6 s session: a quarter, capped at 1 s. */
const INTERVAL_MS = 1000;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

async function leader() {
  const clock = { now: 0 };
  const term = { current: 1 as number | null };
  const core = createControllerCore({
    controllerId: 1,
    db: memoryDb(),
    dataNodeSessionTimeoutMs: TIMEOUT_MS,
    newLeaderGraceMs: GRACE_MS,
    leaderTerm: () => term.current,
    logger: silentLogger,
    clocks: { wallMs: () => 1_700_000_000_000 + clock.now, monotonicMs: () => clock.now },
  });
  await core.log.propose({ type: 'initCluster', clusterId: 'k' });
  await core.liveness.register({
    nodeId: 1,
    host: '127.0.0.1',
    kafkaPort: 9001,
    rack: null,
    incarnationId: 'i-1',
  });

  /** Lets `ms` pass on the clock and the timers, one check interval at a time. */
  const pass = async (ms: number) => {
    for (let left = ms; left > 0; left -= INTERVAL_MS) {
      clock.now += INTERVAL_MS;
      await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    }
  };
  const fenced = () => readDataNode(core.stateMachine.db, 1)?.fenced;
  return { core, clock, term, pass, fenced };
}

describe('data node liveness across leaders', () => {
  it('gives every node its session plus the grace in each new term before fencing', async () => {
    const { core, term, pass, fenced } = await leader();
    core.liveness.start();

    await pass(INTERVAL_MS); // the first check starts term 1's sessions
    await pass(TIMEOUT_MS + GRACE_MS - INTERVAL_MS);
    const beforeNewTerm = fenced();
    term.current = 2;
    await pass(INTERVAL_MS); // a new term: fresh sessions
    await pass(TIMEOUT_MS + GRACE_MS - INTERVAL_MS);
    const withinGrace = fenced();
    await pass(2 * INTERVAL_MS);
    const afterGrace = fenced();
    core.liveness.stop();

    expect(beforeNewTerm).toBe(false);
    expect(withinGrace).toBe(false);
    expect(afterGrace).toBe(true);
  });

  it('starts every session afresh after its timer was held up, instead of fencing', async () => {
    const { core, clock, pass, fenced } = await leader();
    core.liveness.start();
    await pass(INTERVAL_MS);

    clock.now += TIMEOUT_MS + GRACE_MS + INTERVAL_MS; // the process did not run meanwhile
    await pass(INTERVAL_MS);
    const afterPause = fenced();
    await pass(TIMEOUT_MS + GRACE_MS + INTERVAL_MS);
    const afterSilence = fenced();
    core.liveness.stop();

    expect(afterPause).toBe(false);
    expect(afterSilence).toBe(true);
  });
});

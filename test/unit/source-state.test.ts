import { describe, expect, test } from 'vitest';
import { SOURCE_EVENTS, SOURCE_STATES, TRANSITIONS, transition } from '../../src/pipeline/source-state.js';

// The whole state × event table, written out: a change to the lifecycle must change this test.
const EXPECTED: Record<string, string> = {
  'idle start': 'waiting-lease',
  'idle fatalError': 'failed',
  'idle stop': 'stopped',
  'waiting-lease leaseAcquired': 'starting',
  'waiting-lease retriableError': 'waiting-lease',
  'waiting-lease fatalError': 'failed',
  'waiting-lease stop': 'stopped',
  'starting snapshotNeeded': 'snapshotting',
  'starting streamFrom': 'streaming',
  'starting retriableError': 'backoff',
  'starting leaseLost': 'waiting-lease',
  'starting fatalError': 'failed',
  'starting stop': 'stopped',
  'snapshotting snapshotDone': 'streaming',
  'snapshotting retriableError': 'backoff',
  'snapshotting leaseLost': 'waiting-lease',
  'snapshotting fatalError': 'failed',
  'snapshotting stop': 'stopped',
  'streaming retriableError': 'backoff',
  'streaming leaseLost': 'waiting-lease',
  'streaming fatalError': 'failed',
  'streaming stop': 'stopped',
  'backoff backoffElapsed': 'starting',
  'backoff leaseLost': 'waiting-lease',
  'backoff fatalError': 'failed',
  'backoff stop': 'stopped',
  'stopped stop': 'stopped',
  'failed stop': 'failed',
};

describe('source lifecycle', () => {
  test.each(SOURCE_STATES.flatMap((s) => SOURCE_EVENTS.map((e) => [s, e] as const)))(
    '%s × %s',
    (state, event) => {
      const want = EXPECTED[`${state} ${event}`];
      if (want) expect(transition(state, event)).toBe(want);
      else expect(() => transition(state, event)).toThrow(/not valid/);
      expect(TRANSITIONS[state][event]).toBe(want ?? null);
    },
  );
});

// The lifecycle of one source in a running process.
//
//   idle ─start→ waiting-lease ─leaseAcquired→ starting ─snapshotNeeded→ snapshotting ─snapshotDone→ streaming
//                                               └────────────────streamFrom────────────────────────→ streaming
//   starting | snapshotting | streaming ─retriableError→ backoff ─backoffElapsed→ starting
//   starting | snapshotting | streaming | backoff ─leaseLost→ waiting-lease
//   any but stopped/failed ─fatalError→ failed ;  any ─stop→ stopped
//
// Every (state, event) pair is decided in TRANSITIONS; `null` means the event cannot happen there
// and is a bug if it does.

export const SOURCE_STATES = [
  'idle',
  'waiting-lease',
  'starting',
  'snapshotting',
  'streaming',
  'backoff',
  'stopped',
  'failed',
] as const;
export type SourceState = (typeof SOURCE_STATES)[number];

export const SOURCE_EVENTS = [
  'start',
  'leaseAcquired',
  'snapshotNeeded',
  'snapshotDone',
  'streamFrom',
  'retriableError',
  'backoffElapsed',
  'leaseLost',
  'fatalError',
  'stop',
] as const;
export type SourceEvent = (typeof SOURCE_EVENTS)[number];

export const TRANSITIONS: Readonly<Record<SourceState, Readonly<Record<SourceEvent, SourceState | null>>>> = {
  idle: {
    start: 'waiting-lease',
    leaseAcquired: null,
    snapshotNeeded: null,
    snapshotDone: null,
    streamFrom: null,
    retriableError: null,
    backoffElapsed: null,
    leaseLost: null,
    fatalError: 'failed',
    stop: 'stopped',
  },
  'waiting-lease': {
    start: null,
    leaseAcquired: 'starting',
    snapshotNeeded: null,
    snapshotDone: null,
    streamFrom: null,
    retriableError: 'waiting-lease',
    backoffElapsed: null,
    leaseLost: null,
    fatalError: 'failed',
    stop: 'stopped',
  },
  starting: {
    start: null,
    leaseAcquired: null,
    snapshotNeeded: 'snapshotting',
    snapshotDone: null,
    streamFrom: 'streaming',
    retriableError: 'backoff',
    backoffElapsed: null,
    leaseLost: 'waiting-lease',
    fatalError: 'failed',
    stop: 'stopped',
  },
  snapshotting: {
    start: null,
    leaseAcquired: null,
    snapshotNeeded: null,
    snapshotDone: 'streaming',
    streamFrom: null,
    retriableError: 'backoff',
    backoffElapsed: null,
    leaseLost: 'waiting-lease',
    fatalError: 'failed',
    stop: 'stopped',
  },
  streaming: {
    start: null,
    leaseAcquired: null,
    snapshotNeeded: null,
    snapshotDone: null,
    streamFrom: null,
    retriableError: 'backoff',
    backoffElapsed: null,
    leaseLost: 'waiting-lease',
    fatalError: 'failed',
    stop: 'stopped',
  },
  backoff: {
    start: null,
    leaseAcquired: null,
    snapshotNeeded: null,
    snapshotDone: null,
    streamFrom: null,
    retriableError: null,
    backoffElapsed: 'starting',
    leaseLost: 'waiting-lease',
    fatalError: 'failed',
    stop: 'stopped',
  },
  stopped: {
    start: null,
    leaseAcquired: null,
    snapshotNeeded: null,
    snapshotDone: null,
    streamFrom: null,
    retriableError: null,
    backoffElapsed: null,
    leaseLost: null,
    fatalError: null,
    stop: 'stopped',
  },
  failed: {
    start: null,
    leaseAcquired: null,
    snapshotNeeded: null,
    snapshotDone: null,
    streamFrom: null,
    retriableError: null,
    backoffElapsed: null,
    leaseLost: null,
    fatalError: null,
    stop: 'failed',
  },
};

export function transition(state: SourceState, event: SourceEvent): SourceState {
  const next = TRANSITIONS[state][event];
  if (next === null) throw new Error(`source state machine: event ${event} is not valid in state ${state}`);
  return next;
}

// The first pass of a polling source: every table read once up to its visibility bound (op r).
// It is the same loop as streaming (PollingEngine.run in the snapshot phase), so an interrupted
// first pass resumes from the committed cursors like any later one.
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import type { PollingOffset } from './polling-offset.js';
import type { PollingEngine } from './polling-streaming.js';

export function firstPass(
  engine: PollingEngine,
  ctx: SourceContext,
  from: PollingOffset | null,
): AsyncGenerator<ChangeBatch<PollingOffset>> {
  return engine.run(ctx, from, 'snapshot');
}

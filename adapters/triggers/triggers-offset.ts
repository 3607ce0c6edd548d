// Triggers offsets: the polling offset shape with one `changelog` cursor (the ordering value of the
// last entry published) and, during the first pass, the table snapshot's progress.
import { makeOffsetCodec } from '../polling/polling-offset.js';

export type { PollingOffset as TriggersOffset } from '../polling/polling-offset.js';
export const triggersOffsetCodec = makeOffsetCodec('triggers');

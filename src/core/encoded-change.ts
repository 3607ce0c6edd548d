// A change whose event an adapter wrote as JSON on the hot path, without building the event
// object: the dispatcher publishes `json` as is. `event` and `key` are parsed from the JSON only
// when something asks for them (a resumed-snapshot check, a dead letter, a test), so they read
// exactly as the published bytes do.
import type { ChangeEvent, EncodedEvent, Op, SourceChange } from './change-event.js';
import type { SourceInfo } from './source-info.js';

export class EncodedChange implements SourceChange, EncodedEvent {
  #event: ChangeEvent | undefined;
  #key: Record<string, unknown> | undefined;

  constructor(
    readonly json: string,
    readonly keyJson: string,
    readonly schema: string,
    readonly table: string,
    readonly op: Op,
    readonly tsMs: number,
    readonly snapshot: SourceInfo['snapshot'],
    readonly origin: string | undefined,
    readonly position: string,
    readonly index: number,
  ) {}

  get encoded(): EncodedEvent {
    return this;
  }

  get event(): ChangeEvent {
    return (this.#event ??= JSON.parse(this.json) as ChangeEvent);
  }

  get key(): Record<string, unknown> {
    return (this.#key ??= JSON.parse(this.keyJson) as Record<string, unknown>);
  }
}

/** A plain copy of any change (getters read once): safe to spread or to edit. */
export function plainChange(c: SourceChange): SourceChange {
  return { event: c.event, key: c.key, position: c.position, index: c.index };
}

/**
 * Column names a JS object would not keep in column order (integer-like keys come first) or at
 * all (`__proto__`): an adapter that writes rows as JSON itself builds such tables' events as
 * objects instead, so its bytes never differ from JSON.stringify of the object path.
 */
const UNSAFE_NAME = /^(?:0|[1-9]\d*|__proto__)$/;

export function namesKeepOrder(names: readonly string[]): boolean {
  return !names.some((n) => UNSAFE_NAME.test(n));
}

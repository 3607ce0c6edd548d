// Row → API object for a fixed list of fields, compiled once: every REST read converts each row it
// returns, and one generated object literal per field list beats a generic loop over the mapping
// (one hidden class, no keyed stores, monomorphic decode calls).
import type { MappedField } from './mapping.js';

export type RowConverter = (row: Readonly<Record<string, unknown>>) => Record<string, unknown>;

/** Generic form, for field lists that are not worth compiling. */
export function loopConverter(fields: readonly MappedField[]): RowConverter {
  const names = fields.map((f) => f.name);
  const columns = fields.map((f) => f.column);
  const decoders = fields.map((f) => f.codec.decode);
  return (row) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) out[names[i]!] = decoders[i]!(row[columns[i]!]);
    return out;
  };
}

/**
 * `(row) => ({ name: decode(row[column]), … })` as generated code. Names and columns enter the
 * source only as JSON string literals; `__proto__` is a computed key so that it stays a field.
 */
export function compileConverter(fields: readonly MappedField[]): RowConverter {
  const props = fields.map((f, i) => {
    const key = f.name === '__proto__' ? `[${JSON.stringify(f.name)}]` : JSON.stringify(f.name);
    return `${key}: d[${i}](row[${JSON.stringify(f.column)}])`;
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from validated config, see above
  const make = new Function(
    'd',
    `"use strict"; return function toApi(row) { return { ${props.join(', ')} }; };`,
  );
  return make(fields.map((f) => f.codec.decode)) as RowConverter;
}

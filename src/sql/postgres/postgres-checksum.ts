// `sluice verify`'s chunk checksum on PostgreSQL: the sum over the chunk's rows of the first 32
// bits of md5(row text), computed in the database. A row's text joins each column's text with
// trailing blanks removed (CHAR padding differs between databases), NULL written as \N.
import { dq } from '../quote.js';

export function postgresChunkHash(columns: readonly string[]): string {
  const text = columns.map((c) => `COALESCE(rtrim(${dq(c)}::text), '\\N')`).join(', ');
  return `COALESCE(SUM(('x' || substr(md5(concat_ws('|', ${text})), 1, 8))::bit(32)::bigint), 0)::text`;
}

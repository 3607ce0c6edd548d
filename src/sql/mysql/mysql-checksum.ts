// `sluice verify`'s chunk checksum on MySQL/MariaDB: the same sum of 32-bit md5 prefixes as
// PostgreSQL's (src/sql/postgres/postgres-checksum.ts), so equal text hashes equal across the two.
import { bq } from '../quote.js';

export function mysqlChunkHash(columns: readonly string[]): string {
  const text = columns.map((c) => `COALESCE(RTRIM(CAST(${bq(c)} AS CHAR)), '\\\\N')`).join(', ');
  return `CAST(COALESCE(SUM(CONV(SUBSTR(MD5(CONCAT_WS('|', ${text})), 1, 8), 16, 10)), 0) AS DECIMAL(30, 0))`;
}

// `sluice sink init <sink>`: a knex migration (ESM, for review before it runs) that creates the
// sink's target tables from the source's introspected schema and the mapping: renamed columns keep
// their source types; a resource's fields get the type their codec produces.
import type { SinkConfig } from '../config/sinks.js';
import type { CodecName } from '../core/codecs.js';
import type { ResourceMapping } from '../core/mapping.js';
import type { ColumnInfo, TableInfo } from '../sql/introspector.js';
import type { SinkMapping } from './sink-mapping.js';

/** A knex column builder call for a source column's type (`t.integer('x')` without the `t.`). */
function columnCall(name: string, c: ColumnInfo): string {
  const n = JSON.stringify(name);
  const t = c.type.toLowerCase();
  if (/^(int|integer|int4|mediumint|serial)$/.test(t)) return `integer(${n})`;
  if (/^(bigint|int8|bigserial)$/.test(t)) return `bigInteger(${n})`;
  if (/^(smallint|int2|tinyint)$/.test(t)) return `smallint(${n})`;
  if (/^(numeric|decimal|number|money)$/.test(t)) return `decimal(${n}, 38, ${c.scale ?? 0})`;
  if (/^(real|float4|float)$/.test(t)) return `float(${n})`;
  if (/^(double precision|double|float8)$/.test(t)) return `double(${n})`;
  if (/^(bool|boolean|bit)$/.test(t)) return `boolean(${n})`;
  if (/char|^bpchar$|^varchar2?$|^nvarchar2?$|^character/.test(t))
    return c.length ? `string(${n}, ${c.length})` : `text(${n})`;
  if (/^(timestamptz|timestamp with time zone|datetimeoffset)$/.test(t))
    return `timestamp(${n}, { useTz: true, precision: 6 })`;
  if (/^(timestamp|timestamp without time zone|datetime|datetime2)$/.test(t))
    return `timestamp(${n}, { useTz: false, precision: 6 })`;
  if (t === 'date') return `date(${n})`;
  if (/^time/.test(t)) return `time(${n})`;
  if (/^jsonb?$/.test(t)) return `jsonb(${n})`;
  if (t === 'uuid') return `uuid(${n})`;
  if (/bytea|blob|binary|raw/.test(t)) return `binary(${n})`;
  return `text(${n}) /* ${c.type} at the source */`;
}

/** The column a resource field needs, from the type its codec decodes to. */
function fieldCall(name: string, codec: CodecName, c: ColumnInfo | undefined): string {
  const n = JSON.stringify(name);
  switch (codec) {
    case 'yn':
    case 'boolean':
      return `boolean(${n})`;
    case 'yyyymmdd':
      return `date(${n})`;
    case 'decimal':
    case 'cents':
      return `decimal(${n}, 38, ${codec === 'cents' ? 2 : (c?.scale ?? 2)})`;
    case 'localTimestamp':
      return `timestamp(${n}, { useTz: true, precision: 6 })`;
    case 'json':
      return `jsonb(${n})`;
    case 'int':
      return c ? columnCall(name, c) : `bigInteger(${n})`;
    case 'enum':
    case 'string':
    case 'trim':
      return c?.length ? `string(${n}, ${c.length})` : `text(${n})`;
    default: {
      const never: never = codec;
      return `text(${n}) /* ${String(never)} */`;
    }
  }
}

export interface InitTable {
  readonly source: string;
  readonly info: TableInfo;
}

/** The migration's text for `tables` of `sink`. */
export function sinkMigration(
  sink: SinkConfig,
  mapping: SinkMapping,
  tables: readonly InitTable[],
  resourceOf: (source: string) => ResourceMapping | null,
): string {
  const ups: string[] = [];
  const downs: string[] = [];
  for (const { source, info } of tables) {
    const [schema, name] = source.split('.') as [string, string];
    const target = mapping.target(schema, name);
    if (!target) continue;
    const lines: string[] = [];
    const byName = new Map(info.columns.map((c) => [c.name, c]));
    const resource = resourceOf(source);
    let key: string[];
    if (resource) {
      for (const f of resource.allFields) {
        const c = byName.get(f.column);
        lines.push(`t.${fieldCall(f.name, f.spec.codec, c)}${f.spec.nullable ? '' : '.notNullable()'};`);
      }
      key = resource.key.map((f) => f.name);
    } else {
      for (const c of info.columns) {
        const to = Object.keys(target.row({ [c.name]: null }))[0];
        if (to === undefined) continue; // excluded
        lines.push(`t.${columnCall(to, c)}${c.nullable ? '' : '.notNullable()'};`);
      }
      key = Object.keys(target.key(Object.fromEntries(info.primaryKey.map((k) => [k, null]))));
    }
    if (key.length > 0) lines.push(`t.primary(${JSON.stringify(key)});`);
    const create = target.schema
      ? `knex.schema.withSchema(${JSON.stringify(target.schema)}).createTable(${JSON.stringify(target.name)}`
      : `knex.schema.createTable(${JSON.stringify(target.name)}`;
    ups.push(
      `  // ${source} → ${target.table}\n  await ${create}, (t) => {\n    ${lines.join('\n    ')}\n  });`,
    );
    downs.unshift(
      target.schema
        ? `  await knex.schema.withSchema(${JSON.stringify(target.schema)}).dropTableIfExists(${JSON.stringify(target.name)});`
        : `  await knex.schema.dropTableIfExists(${JSON.stringify(target.name)});`,
    );
  }
  return (
    `// The target tables of sink ${sink.name} (from source ${sink.from}), written by \`sluice sink init\`:\n` +
    `// review before running it. Types come from the source's schema and the mapping's codecs.\n` +
    `export async function up(knex) {\n${ups.join('\n\n')}\n}\n\nexport async function down(knex) {\n${downs.join('\n')}\n}\n`
  );
}

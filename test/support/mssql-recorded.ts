// Recorded SQL Server answers for the mssql adapter's statements: catalog rows, a snapshot, and CDC
// change-table rows of three transactions across two tables and a schema change (a second capture
// instance), in the `mssql` driver's own shapes (binary(10) LSNs as Buffers, bigint as strings,
// date/datetime as Dates, the columns the adapter CONVERTs as varchar text). The same result sets
// answer the adapter directly (recordedExecutor) and through the fake TDS server, where tedious
// decodes them from the wire. Windows are computed from the LSN literals of each statement, and a
// range below a capture instance's minimum LSN fails with error 313, as on SQL Server.
import { mssqlSourceSchema } from '../../adapters/mssql/config.js';
import { createMssqlAdapter } from '../../adapters/mssql/index.js';
import { classifyMssqlError } from '../../adapters/mssql/mssql-errors.js';
import type { MssqlOffset } from '../../adapters/mssql/mssql-offset.js';
import type { SourceChange } from '../../src/core/change-event.js';
import type { ChangeBatch } from '../../src/core/source-adapter.js';
import { quietLog } from './harness.js';
import type { MssqlExecutor, Row, StreamedRow } from '../../adapters/mssql/mssql-session.js';
import { TdsServerError, type TdsColumn, type TdsResult } from './fake-tds-server.js';

export const lsn = (hex: string) => Buffer.from(hex.replace(/[^0-9a-f]/gi, ''), 'hex');

/** Commit LSNs: B < C by bytes (0x9f.. < 0x0100..) though not as decimal text of their parts. */
export const L = {
  enabled: '00000025:00000010:0001',
  A: '00000025:00000050:0001', // the max LSN the snapshot reads
  B: '00000025:0000009f:0004',
  C: '00000025:00000100:0002',
  D: '00000026:00000010:0003', // dbo_orders_v2 starts here
} as const;

const S = {
  s1: '00000025:0000009e:0002',
  s2: '00000025:0000009e:0003',
  s3: '00000025:0000009e:0004',
  s4: '00000025:000000ff:0001',
  s5: '00000025:000000ff:00ff',
  s6: '00000025:000000ff:0100',
  s7: '00000026:00000010:0001',
  s8: '00000026:00000010:0002',
} as const;

const cdcCols: TdsColumn[] = [
  { name: '__$start_lsn', type: 'binary', precision: 10 },
  { name: '__$seqval', type: 'binary', precision: 10 },
  { name: '__$operation', type: 'int' },
];

/** The result columns of the adapter's SELECTs (decimal, money, datetime2, datetimeoffset come back CONVERTed to varchar). */
const ordersCols: TdsColumn[] = [
  { name: 'id', type: 'int' },
  { name: 'amount', type: 'varchar' },
  { name: 'placed', type: 'varchar' },
  { name: 'note', type: 'nvarchar' },
];
const ordersV2Cols: TdsColumn[] = [...ordersCols, { name: 'status', type: 'nvarchar' }];
const customersCols: TdsColumn[] = [
  { name: 'id', type: 'bigint' },
  { name: 'name', type: 'nvarchar' },
  { name: 'balance', type: 'varchar' },
  { name: 'guid', type: 'uniqueidentifier' },
  { name: 'active', type: 'bit' },
  { name: 'born', type: 'date' },
  { name: 'seen', type: 'varchar' },
  { name: 'photo', type: 'varbinary' },
  { name: 'rv', type: 'binary', precision: 8 },
  { name: 'legacy_note', type: 'ntext' },
];

const day = (iso: string) => new Date(`${iso}T00:00:00.000Z`);
const cust = (id: string, name: string, balance: string, active: boolean, rv: string) => [
  id,
  name,
  balance,
  '6F9619FF-8B86-D011-B42D-00C04FC964FF',
  active,
  day('1969-07-20'),
  '2024-02-28T23:14:15.1234567',
  Buffer.from([0xca, 0xfe]),
  lsn(rv),
  'ntext ☃',
];

interface Change {
  readonly ci: string;
  readonly lsn: string;
  readonly seqval: string;
  readonly op: number;
  readonly row: readonly unknown[];
}

const changes: Change[] = [
  // B: two tables, one commit, interleaved by seqval.
  {
    ci: 'dbo_orders',
    lsn: L.B,
    seqval: S.s1,
    op: 2,
    row: [3, '10.50', '2024-03-01T10:00:00.1234567', 'new'],
  },
  {
    ci: 'dbo_customers',
    lsn: L.B,
    seqval: S.s2,
    op: 3,
    row: cust('9007199254740993', 'Ada', '100.0000', true, '00000000000007d1'),
  },
  {
    ci: 'dbo_customers',
    lsn: L.B,
    seqval: S.s2,
    op: 4,
    row: cust('9007199254740993', 'Ada L.', '922337203685477.5807', true, '00000000000007d2'),
  },
  {
    ci: 'dbo_orders',
    lsn: L.B,
    seqval: S.s3,
    op: 2,
    row: [4, '99999999.99', '2024-03-01T10:00:01.0000001', null],
  },
  // C: a key change (delete + insert at one seqval), and one row updated twice.
  {
    ci: 'dbo_orders',
    lsn: L.C,
    seqval: S.s4,
    op: 1,
    row: [4, '99999999.99', '2024-03-01T10:00:01.0000001', null],
  },
  {
    ci: 'dbo_orders',
    lsn: L.C,
    seqval: S.s4,
    op: 2,
    row: [5, '99999999.99', '2024-03-01T10:00:01.0000001', null],
  },
  {
    ci: 'dbo_customers',
    lsn: L.C,
    seqval: S.s5,
    op: 3,
    row: cust('2', 'Bob', '0.0000', false, '00000000000007d3'),
  },
  {
    ci: 'dbo_customers',
    lsn: L.C,
    seqval: S.s5,
    op: 4,
    row: cust('2', 'Bob', '1.5000', false, '00000000000007d4'),
  },
  {
    ci: 'dbo_customers',
    lsn: L.C,
    seqval: S.s6,
    op: 3,
    row: cust('2', 'Bob', '1.5000', false, '00000000000007d4'),
  },
  {
    ci: 'dbo_customers',
    lsn: L.C,
    seqval: S.s6,
    op: 4,
    row: cust('2', 'Bob', '-3.2500', true, '00000000000007d5'),
  },
  // D: after ALTER TABLE dbo.orders ADD status and a second capture instance, both instances hold the
  // change; the old one (without `status`) must not be read from D on.
  {
    ci: 'dbo_orders',
    lsn: L.D,
    seqval: S.s7,
    op: 3,
    row: [5, '99999999.99', '2024-03-01T10:00:01.0000001', null],
  },
  { ci: 'dbo_orders', lsn: L.D, seqval: S.s7, op: 4, row: [5, '0.01', '2024-03-01T10:00:01.0000001', 'cut'] },
  {
    ci: 'dbo_orders_v2',
    lsn: L.D,
    seqval: S.s7,
    op: 3,
    row: [5, '99999999.99', '2024-03-01T10:00:01.0000001', null, null],
  },
  {
    ci: 'dbo_orders_v2',
    lsn: L.D,
    seqval: S.s7,
    op: 4,
    row: [5, '0.01', '2024-03-01T10:00:01.0000001', 'cut', 'SHIPPED'],
  },
  {
    ci: 'dbo_customers',
    lsn: L.D,
    seqval: S.s8,
    op: 1,
    row: cust('2', 'Bob', '-3.2500', true, '00000000000007d5'),
  },
];

const commitTime: Record<string, Date> = {
  [L.A]: new Date('2024-03-01T09:59:00.000Z'),
  [L.B]: new Date('2024-03-01T10:00:02.000Z'),
  [L.C]: new Date('2024-03-01T10:00:03.000Z'),
  [L.D]: new Date('2024-03-01T10:05:00.000Z'),
};

export interface Scenario {
  /** The database as the fake reports it. */
  cdcEnabled: boolean;
  agentRunning: boolean;
  /** Capture instances present (dbo_orders_v2 appears with the schema change). */
  instances: string[];
  /** The highest commit LSN captured so far. */
  maxLsn: string;
  /** What sys.fn_cdc_get_max_lsn() says inside the snapshot transaction (the changes after it come later). */
  snapshotLsn: string;
  /** Minimum LSN per capture instance (cleanup moves it). */
  minLsn: Record<string, string>;
  /** create_date per capture instance. */
  created: Record<string, Date>;
  /** Change Tracking: the current version and each table's minimum valid version. */
  ctVersion: string;
  ctMinValid: string;
  /** Statements answered, in order. */
  readonly seen: string[];
}

export function scenario(over: Partial<Scenario> = {}): Scenario {
  return {
    cdcEnabled: true,
    agentRunning: true,
    instances: ['dbo_orders', 'dbo_customers', 'dbo_orders_v2'],
    maxLsn: L.D,
    snapshotLsn: L.A,
    minLsn: { dbo_orders: L.enabled, dbo_customers: L.enabled, dbo_orders_v2: L.D },
    created: {
      dbo_orders: new Date('2024-01-01T00:00:00Z'),
      dbo_customers: new Date('2024-01-01T00:00:00Z'),
      dbo_orders_v2: new Date('2024-03-01T10:04:00Z'),
    },
    ctVersion: '42',
    ctMinValid: '1',
    seen: [],
    ...over,
  };
}

const hex = (s: string) => s.replace(/:/g, '').toLowerCase();
const cmp = (a: string, b: string) => Buffer.compare(lsn(a), lsn(b));

const ORDERS_ID = 901;
const CUSTOMERS_ID = 902;
const CT_IDS: Record<string, number> = { dbo_orders: 1001, dbo_customers: 1002, dbo_orders_v2: 1003 };
const ciColumns: Record<string, TdsColumn[]> = {
  dbo_orders: ordersCols,
  dbo_customers: customersCols,
  dbo_orders_v2: ordersV2Cols,
};

/** sys.columns rows: the source tables' and the change tables' columns with their SQL types. */
function catalogColumns(): unknown[][] {
  const orders: [string, string, number][] = [
    ['id', 'int', 0],
    ['amount', 'decimal', 2],
    ['placed', 'datetime2', 7],
    ['note', 'nvarchar', 0],
  ];
  const customers: [string, string, number][] = [
    ['id', 'bigint', 0],
    ['name', 'nvarchar', 0],
    ['balance', 'money', 4],
    ['guid', 'uniqueidentifier', 0],
    ['active', 'bit', 0],
    ['born', 'date', 0],
    ['seen', 'datetimeoffset', 7],
    ['photo', 'varbinary', 0],
    ['rv', 'timestamp', 0],
    ['legacy_note', 'ntext', 0],
  ];
  const ordersV2 = [...orders, ['status', 'nvarchar', 0] as [string, string, number]];
  const ct = customers.map(
    ([n, t, s]) => [n, t === 'timestamp' ? 'binary' : t, s] as [string, string, number],
  );
  const rows = (id: number, cols: [string, string, number][]) => cols.map(([n, t, s]) => [id, n, t, s]);
  return [
    ...rows(ORDERS_ID, ordersV2),
    ...rows(CUSTOMERS_ID, customers),
    ...rows(CT_IDS.dbo_orders!, orders),
    ...rows(CT_IDS.dbo_customers!, ct),
    ...rows(CT_IDS.dbo_orders_v2!, ordersV2),
  ];
}

const snapshotOrders = [
  [1, '1520.00', '2024-02-29T13:14:15.1234567', 'first'],
  [2, '-0.01', '0001-01-01T00:00:00.0000000', null],
];
const snapshotCustomers = [cust('9007199254740993', 'Ada', '100.0000', true, '00000000000007d1')];

/** Answers one statement of a batch. */
function answer(s: Scenario, stmt: string, inSnapshot: boolean): TdsResult | null {
  const t = stmt.trim();
  if (/^(SET|BEGIN|COMMIT|DECLARE)\b/i.test(t) || t === '') return null;
  if (/SERVERPROPERTY\('EngineEdition'\)/.test(t))
    return {
      columns: [
        { name: 'db', type: 'nvarchar' },
        { name: 'cdc', type: 'bit' },
        { name: 'snapshot_isolation', type: 'int' },
        { name: 'edition', type: 'int' },
        { name: 'version', type: 'nvarchar' },
        { name: 'ct_db', type: 'int' },
      ],
      rows: [['erp', s.cdcEnabled, 1, 3, '16.0.4135.4', 1]],
    };
  if (/^SELECT sys\.fn_cdc_get_max_lsn\(\) AS max_lsn$/.test(t))
    return {
      columns: [{ name: 'max_lsn', type: 'binary', precision: 10 }],
      rows: [[s.agentRunning ? lsn(inSnapshot ? s.snapshotLsn : s.maxLsn) : null]],
    };
  if (/FROM sys\.tables t/.test(t))
    return {
      columns: [
        { name: 'schema', type: 'nvarchar' },
        { name: 'name', type: 'nvarchar' },
        { name: 'object_id', type: 'int' },
        { name: 'cdc', type: 'bit' },
      ],
      rows: [
        ['dbo', 'audit', 903, false],
        ['dbo', 'customers', CUSTOMERS_ID, s.cdcEnabled],
        ['dbo', 'orders', ORDERS_ID, s.cdcEnabled],
      ],
    };
  if (/FROM cdc\.change_tables ct ORDER BY/.test(t))
    return {
      columns: [
        { name: 'source_object_id', type: 'int' },
        { name: 'capture_instance', type: 'nvarchar' },
        { name: 'start_lsn', type: 'binary', precision: 10 },
        { name: 'ct_object_id', type: 'int' },
      ],
      rows: s.instances.map((ci) => [
        ci === 'dbo_customers' ? CUSTOMERS_ID : ORDERS_ID,
        ci,
        lsn(s.minLsn[ci]!),
        CT_IDS[ci]!,
      ]),
    };
  if (/FROM sys\.columns c WHERE c\.object_id IN/.test(t))
    return {
      columns: [
        { name: 'object_id', type: 'int' },
        { name: 'name', type: 'nvarchar' },
        { name: 'type', type: 'nvarchar' },
        { name: 'scale', type: 'int' },
      ],
      rows: catalogColumns(),
    };
  if (/i\.is_primary_key = 1/.test(t))
    return {
      columns: [
        { name: 'object_id', type: 'int' },
        { name: 'name', type: 'nvarchar' },
      ],
      rows: [
        [CUSTOMERS_ID, 'id'],
        [ORDERS_ID, 'id'],
      ],
    };
  if (/FROM sys\.change_tracking_tables/.test(t))
    return { columns: [{ name: 'object_id', type: 'int' }], rows: [[CUSTOMERS_ID], [ORDERS_ID]] };
  if (/^SELECT HAS_PERMS_BY_NAME/.test(t)) {
    const names = [...t.matchAll(/AS \[(\w+)\]/g)].map((m) => m[1]!);
    return { columns: names.map((name) => ({ name, type: 'int' })), rows: [names.map(() => 1)] };
  }
  if (/^SELECT CAST\(CHANGE_TRACKING_CURRENT_VERSION\(\) AS varchar\(20\)\) AS version$/.test(t))
    return { columns: [{ name: 'version', type: 'varchar' }], rows: [[s.ctVersion]] };
  if (/^SELECT CAST\(@cur AS varchar\(20\)\) AS version/.test(t)) {
    const names = [...t.matchAll(/AS \[(m\d+)\]/g)].map((m) => m[1]!);
    return {
      columns: [
        { name: 'version', type: 'varchar' },
        ...names.map((name): TdsColumn => ({ name, type: 'varchar' })),
      ],
      rows: [[s.ctVersion, ...names.map(() => s.ctMinValid)]],
    };
  }
  const ct = /FROM CHANGETABLE\(CHANGES \[dbo\]\.\[(\w+)\], (\d+)\)/.exec(t);
  if (ct) {
    const meta: TdsColumn[] = [
      { name: '__$version', type: 'varchar' },
      { name: '__$operation', type: 'nvarchar' },
      { name: '__$key_id', type: ct[1] === 'orders' ? 'int' : 'bigint' },
    ];
    if (ct[1] === 'orders')
      return {
        columns: [...meta, ...ordersV2Cols],
        rows:
          Number(ct[2]) < 40
            ? [
                ['41', 'I', 3, 3, '10.50', '2024-03-01T10:00:00.1234567', 'new', null],
                ['42', 'D', 1, null, null, null, null, null],
              ]
            : [],
      };
    return {
      columns: [...meta, ...customersCols],
      rows:
        Number(ct[2]) < 41
          ? [
              [
                '41',
                'U',
                '9007199254740993',
                ...cust('9007199254740993', 'Ada L.', '1.0000', true, '00000000000007d9'),
              ],
            ]
          : [],
    };
  }
  if (/^SELECT sys\.fn_cdc_get_max_lsn\(\) AS max_lsn, sys\.fn_cdc_map_lsn_to_time/.test(t)) {
    const from = /fn_cdc_map_lsn_to_time\(0x([0-9a-f]{20})\)/.exec(t)![1]!;
    const n = Number(/TOP \((\d+)\)/.exec(t)![1]);
    const later = Object.keys(commitTime)
      .filter((c) => cmp(c, from) > 0 && cmp(c, s.maxLsn) <= 0)
      .sort(cmp)
      .slice(0, n);
    const fromTime = Object.entries(commitTime).find(([c]) => hex(c) === from)?.[1] ?? null;
    return {
      columns: [
        { name: 'max_lsn', type: 'binary', precision: 10 },
        { name: 'from_time', type: 'datetime' },
        { name: 'nth_lsn', type: 'binary', precision: 10 },
      ],
      rows: [
        [
          s.agentRunning ? lsn(s.maxLsn) : null,
          fromTime,
          later.length ? lsn(later[later.length - 1]!) : null,
        ],
      ],
    };
  }
  if (/sys\.fn_cdc_get_min_lsn\(ct\.capture_instance\)/.test(t))
    return {
      columns: [
        { name: 'capture_instance', type: 'nvarchar' },
        { name: 'min_lsn', type: 'binary', precision: 10 },
        { name: 'create_date', type: 'datetime' },
      ],
      rows: s.instances.map((ci) => [ci, lsn(s.minLsn[ci]!), s.created[ci]!]),
    };
  const fn =
    /fn_cdc_get_all_changes_(\w+)\]\(0x([0-9a-f]{20}), 0x([0-9a-f]{20}), N'all update old'\) AS c(?: WHERE c\.\[__\$start_lsn\] < 0x([0-9a-f]{20}))?/.exec(
      t,
    );
  if (fn) {
    const [, ci, lo, hi, until] = fn as unknown as [string, string, string, string, string | undefined];
    if (!s.instances.includes(ci))
      throw new TdsServerError(208, `Invalid object name 'cdc.fn_cdc_get_all_changes_${ci}'.`);
    if (cmp(lo, s.minLsn[ci]!) < 0 || cmp(hi, s.maxLsn) > 0)
      throw new TdsServerError(
        313,
        'An insufficient number of arguments were supplied for the procedure or function cdc.fn_cdc_get_all_changes_ ... .',
      );
    const rows = changes
      .filter(
        (c) => c.ci === ci && cmp(c.lsn, lo) >= 0 && cmp(c.lsn, hi) <= 0 && (!until || cmp(c.lsn, until) < 0),
      )
      .map((c) => [lsn(c.lsn), lsn(c.seqval), c.op, ...c.row]);
    return { columns: [...cdcCols, ...ciColumns[ci]!], rows };
  }
  const map =
    /FROM cdc\.lsn_time_mapping m WHERE m\.start_lsn BETWEEN 0x([0-9a-f]{20}) AND 0x([0-9a-f]{20})/.exec(t);
  if (map)
    return {
      columns: [
        { name: 'start_lsn', type: 'binary', precision: 10 },
        { name: 'tran_end_time', type: 'datetime' },
      ],
      rows: Object.entries(commitTime)
        .filter(([c]) => cmp(c, map[1]!) >= 0 && cmp(c, map[2]!) <= 0)
        .map(([c, d]) => [lsn(c), d]),
    };
  if (/FROM \[dbo\]\.\[orders\] AS t/.test(t))
    return { columns: ordersV2Cols, rows: snapshotOrders.map((r) => [...r, 'OPEN']) };
  if (/FROM \[dbo\]\.\[customers\] AS t/.test(t)) return { columns: customersCols, rows: snapshotCustomers };
  if (/^SELECT CAST\(CHANGE_TRACKING_CURRENT_VERSION/.test(t))
    return { columns: [{ name: 'version', type: 'varchar' }], rows: [[s.ctVersion]] };
  throw new TdsServerError(50000, `no recorded answer for: ${t.slice(0, 200)}`);
}

/** Answers a whole batch: one result set per statement that returns rows. */
export function respond(s: Scenario, sql: string): TdsResult[] {
  s.seen.push(sql);
  return sql
    .split(/;\n/)
    .map((stmt) => answer(s, stmt, /BEGIN TRANSACTION/.test(sql)))
    .filter((r): r is TdsResult => r !== null);
}

/** The driver's row objects for a result set (what `mssql` hands over for these values). */
function rowsOf(r: TdsResult): Row[] {
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i] ?? null])));
}

/** An executor answering from the recorded result sets, without a driver or server. */
export function recordedExecutor(s: Scenario): MssqlExecutor {
  const run = (sql: string): Row[][] => {
    try {
      return respond(s, sql).map(rowsOf);
    } catch (err) {
      // What the pool executor makes of the driver's RequestError for the same ERROR token.
      const driverError = Object.assign(new Error((err as Error).message), {
        number: err instanceof TdsServerError ? err.number : 50000,
        code: 'EREQUEST',
      });
      throw classifyMssqlError(driverError, 'query on erp failed', 'erp');
    }
  };
  return {
    batch: async (sql) => run(sql),
    async *stream(sql): AsyncGenerator<StreamedRow> {
      const sets = run(sql);
      for (let set = 0; set < sets.length; set++) for (const row of sets[set]!) yield { set, row };
    },
    close: async () => {},
  };
}

export function mssqlConfig(over: Record<string, unknown> = {}) {
  return mssqlSourceSchema.parse({
    name: 'erp',
    kind: 'mssql',
    url: 'mssql://sa:pw@127.0.0.1:1433/erp',
    tables: ['dbo.orders', 'dbo.customers'],
    pollInterval: '10ms',
    ...over,
  });
}

/** Runs snapshot (when asked) and the stream until `count` changes arrived; returns batches. */
export async function collect(
  db: MssqlExecutor,
  opts: { from?: MssqlOffset | null; count: number; snapshot?: boolean; config?: Record<string, unknown> },
): Promise<{ changes: SourceChange[]; batches: ChangeBatch<MssqlOffset>[] }> {
  const adapter = createMssqlAdapter(mssqlConfig(opts.config), quietLog, db);
  const ac = new AbortController();
  const ctx = { signal: ac.signal, log: quietLog };
  const changes: SourceChange[] = [];
  const batches: ChangeBatch<MssqlOffset>[] = [];
  let from = opts.from ?? null;
  try {
    if (opts.snapshot)
      for await (const b of adapter.snapshot(ctx, null)) {
        batches.push(b);
        changes.push(...b.changes);
        if (b.offset) from = b.offset;
      }
    if (changes.length < opts.count)
      for await (const b of adapter.stream(ctx, from)) {
        batches.push(b);
        changes.push(...b.changes);
        if (changes.length >= opts.count) {
          ac.abort();
          break;
        }
      }
  } finally {
    await adapter.close();
  }
  return { changes, batches };
}

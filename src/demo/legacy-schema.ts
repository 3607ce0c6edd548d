// The demo's legacy order-entry database: upper-case cryptic columns, CHAR padding, 'Y'/'N'
// flags, YYYYMMDD integer dates and amounts in cents, as a 1990s system would have them.

export const LEGACY_DDL = `
CREATE SCHEMA erp;
CREATE TABLE erp.custmast (
  "CUST_NO"  char(8)      PRIMARY KEY,
  "CUST_NM"  char(30)     NOT NULL,
  "ACTV_FLG" char(1)      NOT NULL DEFAULT 'Y',
  "CRT_DT"   integer      NOT NULL,
  "CR_LMT"   numeric(12,2) NOT NULL DEFAULT 0
);
CREATE TABLE erp.ordhdr (
  "ORD_NO"   integer      PRIMARY KEY,
  "CUST_NO"  char(8)      NOT NULL REFERENCES erp.custmast,
  "ORD_DT"   integer      NOT NULL,
  "ORD_STS"  char(1)      NOT NULL DEFAULT 'O',
  "TOT_CTS"  bigint       NOT NULL DEFAULT 0
);
INSERT INTO erp.custmast VALUES
  ('C0000001', 'ACME TOOLING', 'Y', 19970312, 15000.00),
  ('C0000002', 'BOLT & NUT SUPPLY', 'Y', 20010704, 2500.00),
  ('C0000003', 'CAMDEN FOUNDRY', 'N', 19950101, 0);
INSERT INTO erp.ordhdr VALUES
  (100001, 'C0000001', 20240105, 'S', 152000),
  (100002, 'C0000002', 20240107, 'O', 9950);
`;

/** What the legacy application does while the demo watches. */
export const LEGACY_WRITES: { say: string; sql: string }[] = [
  {
    say: 'a new customer is keyed in',
    sql: `INSERT INTO erp.custmast VALUES ('C0000004', 'DELTA WIDGETS', 'Y', to_char(now(), 'YYYYMMDD')::int, 500.00)`,
  },
  {
    say: 'an order is taken (one transaction, two tables)',
    sql: `BEGIN; INSERT INTO erp.ordhdr VALUES (100003, 'C0000004', to_char(now(), 'YYYYMMDD')::int, 'O', 12345); UPDATE erp.custmast SET "CR_LMT" = 1000.00 WHERE "CUST_NO" = 'C0000004'; COMMIT`,
  },
  { say: 'an order ships', sql: `UPDATE erp.ordhdr SET "ORD_STS" = 'S' WHERE "ORD_NO" = 100002` },
  { say: 'a dormant customer is closed', sql: `DELETE FROM erp.custmast WHERE "CUST_NO" = 'C0000003'` },
];

/** The REST mapping of the same tables: modern names, codecs instead of legacy encodings. */
export const DEMO_RESOURCES = {
  customers: {
    source: 'erp',
    table: 'erp.custmast',
    key: ['id'],
    fields: {
      id: { column: 'CUST_NO', codec: 'trim', options: { length: 8 } },
      name: { column: 'CUST_NM', codec: 'trim', options: { length: 30 } },
      active: { column: 'ACTV_FLG', codec: 'yn' },
      createdOn: { column: 'CRT_DT', codec: 'yyyymmdd' },
      creditLimit: { column: 'CR_LMT', codec: 'decimal', options: { scale: 2 } },
    },
    relations: { orders: { resource: 'orders', on: { id: 'customerId' } } },
  },
  orders: {
    source: 'erp',
    table: 'erp.ordhdr',
    key: ['number'],
    fields: {
      number: { column: 'ORD_NO', codec: 'int' },
      customerId: { column: 'CUST_NO', codec: 'trim', options: { length: 8 } },
      orderedOn: { column: 'ORD_DT', codec: 'yyyymmdd' },
      status: {
        column: 'ORD_STS',
        codec: 'enum',
        options: { values: { O: 'open', S: 'shipped', C: 'cancelled' } },
      },
      total: { column: 'TOT_CTS', codec: 'cents' },
    },
  },
};

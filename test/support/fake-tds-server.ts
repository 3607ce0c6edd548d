// A FAKE SQL Server: an in-process TCP server speaking just enough TDS 7.4 for the real `mssql`
// package and its tedious driver to connect and run SQL batches, so the driver's own login, token
// parsing and value decoding are exercised without SQL Server (which cannot run here). It answers
// PRELOGIN (encryption not supported, so no TLS), LOGIN7 (ENVCHANGE database and packet size,
// LOGINACK, DONE), SQL_BATCH (the batch's text handed to a responder, whose result sets go back as
// COLMETADATA + ROW tokens, or whose thrown error goes back as an ERROR token) and ATTENTION.
// RPC requests of `sp_executesql` (what tedious's execSql sends, e.g. for knex) are answered the
// same way, with their parameter values decoded for the common types; other RPCs and
// transaction-manager requests are answered with an error.
// It knows nothing of SQL; wire formats from MS-TDS and tedious's token parsers.
import { createServer, type Server, type Socket } from 'node:net';

/** Column types the fake encodes (SQL Server type names). */
export type TdsType =
  | 'int'
  | 'bigint'
  | 'bit'
  | 'nvarchar'
  | 'varchar'
  | 'varbinary'
  | 'binary'
  | 'uniqueidentifier'
  | 'decimal'
  | 'money'
  | 'date'
  | 'datetime'
  | 'datetime2'
  | 'datetimeoffset'
  | 'ntext'
  | 'image';

export interface TdsColumn {
  readonly name: string;
  readonly type: TdsType;
  /** decimal: precision and scale; datetime2/datetimeoffset: scale (default 7). */
  readonly precision?: number;
  readonly scale?: number;
}

/**
 * A result set. Values: numbers, strings (bigint and decimal as digits; datetime2/datetimeoffset
 * as ISO text with up to 7 fractional digits, datetimeoffset with its offset), booleans, Buffers,
 * Dates (date, datetime), or null.
 */
export interface TdsResult {
  readonly columns: readonly TdsColumn[];
  readonly rows: readonly (readonly unknown[])[];
}

/** Thrown by a responder: sent as an ERROR token with this number. */
export class TdsServerError extends Error {
  constructor(
    readonly number: number,
    message: string,
    readonly severity = 16,
  ) {
    super(message);
  }
}

/** Answers a SQL batch (`params` empty) or an `sp_executesql` RPC (its statement and parameter values). */
export type TdsResponder = (sql: string, params: readonly unknown[]) => readonly TdsResult[];

const PACKET = {
  SQL_BATCH: 0x01,
  RPC: 0x03,
  REPLY: 0x04,
  ATTENTION: 0x06,
  TM: 0x0e,
  LOGIN7: 0x10,
  PRELOGIN: 0x12,
};
const DONE = { FINAL: 0x00, MORE: 0x01, ERROR: 0x02, COUNT: 0x10, ATTN: 0x20 };
/** Latin1_General_CI_AS: LCID 0x0409, sort id 52 (code page 1252). */
const COLLATION = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

const u8 = (n: number) => Buffer.from([n & 0xff]);
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
};
const ucs2 = (s: string) => Buffer.from(s, 'utf16le');
/** B_VARCHAR: a character count in one byte, then UCS-2. */
const bVarchar = (s: string) => Buffer.concat([u8(s.length), ucs2(s)]);
/** US_VARCHAR: a character count in two bytes, then UCS-2. */
const usVarchar = (s: string) => Buffer.concat([u16(s.length), ucs2(s)]);

function token(type: number, body: Buffer): Buffer {
  return Buffer.concat([u8(type), u16(body.length), body]);
}

function doneToken(status: number, rows = 0): Buffer {
  const count = Buffer.alloc(8);
  count.writeBigUInt64LE(BigInt(rows));
  return Buffer.concat([u8(0xfd), u16(status), u16(0xc1), count]);
}

function envChange(type: number, value: string, old: string): Buffer {
  return token(0xe3, Buffer.concat([u8(type), bVarchar(value), bVarchar(old)]));
}

function errorToken(number: number, message: string, severity: number): Buffer {
  return token(
    0xaa,
    Buffer.concat([
      i32(number),
      u8(1),
      u8(severity),
      usVarchar(message),
      bVarchar('fake-tds'),
      bVarchar(''),
      u32(1),
    ]),
  );
}

function decimalBytes(precision: number): number {
  return precision <= 9 ? 5 : precision <= 19 ? 9 : precision <= 28 ? 13 : 17;
}

function typeInfo(c: TdsColumn): Buffer {
  switch (c.type) {
    case 'int':
      return Buffer.from([0x26, 4]);
    case 'bigint':
      return Buffer.from([0x26, 8]);
    case 'bit':
      return Buffer.from([0x68, 1]);
    case 'nvarchar':
      return Buffer.concat([u8(0xe7), u16(8000), COLLATION]);
    case 'varchar':
      return Buffer.concat([u8(0xa7), u16(8000), COLLATION]);
    case 'varbinary':
      return Buffer.concat([u8(0xa5), u16(8000)]);
    case 'binary':
      return Buffer.concat([u8(0xad), u16(c.precision ?? 10)]);
    case 'uniqueidentifier':
      return Buffer.from([0x24, 16]);
    case 'decimal': {
      const p = c.precision ?? 18;
      return Buffer.from([0x6a, decimalBytes(p), p, c.scale ?? 0]);
    }
    case 'money':
      return Buffer.from([0x6e, 8]);
    case 'date':
      return Buffer.from([0x28]);
    case 'datetime':
      return Buffer.from([0x6f, 8]);
    case 'datetime2':
      return Buffer.from([0x2a, c.scale ?? 7]);
    case 'datetimeoffset':
      return Buffer.from([0x2b, c.scale ?? 7]);
    case 'ntext':
      return Buffer.concat([u8(0x63), u32(0x7ffffffe), COLLATION, u8(1), usVarchar('t')]);
    case 'image':
      return Buffer.concat([u8(0x22), u32(0x7fffffff), u8(1), usVarchar('t')]);
    default: {
      const never: never = c.type;
      throw new Error(`fake TDS server: no encoding for ${String(never)}`);
    }
  }
}

function colMetadata(columns: readonly TdsColumn[]): Buffer {
  const cols = columns.map((c) => Buffer.concat([u32(0), u16(0x0009), typeInfo(c), bVarchar(c.name)]));
  return Buffer.concat([u8(0x81), u16(columns.length), ...cols]);
}

const DAY_MS = 86_400_000;
/** Days from 0001-01-01 to the given date (proleptic Gregorian; setUTCFullYear, as Date.UTC maps years below 100 to 19xx). */
function daysFrom0001(y: number, m: number, d: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  const base = new Date(0);
  base.setUTCFullYear(1, 0, 1);
  return Math.round((t.getTime() - base.getTime()) / DAY_MS);
}

function u24(n: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntLE(n, 0, 3);
  return b;
}

/** `YYYY-MM-DDThh:mm:ss[.fffffff][±hh:mm|Z]` → date parts, 100 ns ticks of the day, offset minutes. */
function parseIso(v: unknown): { y: number; m: number; d: number; ticks: bigint; offset: number } {
  const s = str(v);
  const r = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?)?(Z|[+-]\d\d:\d\d)?$/.exec(s);
  if (!r) throw new Error(`fake TDS server: not an ISO date/time: ${s}`);
  const frac = BigInt((r[7] ?? '').padEnd(7, '0') || '0');
  const ticks =
    BigInt(Number(r[4] ?? 0) * 3600 + Number(r[5] ?? 0) * 60 + Number(r[6] ?? 0)) * 10_000_000n + frac;
  const z = r[8];
  const offset =
    !z || z === 'Z' ? 0 : (z[0] === '-' ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(4, 6)));
  return { y: Number(r[1]), m: Number(r[2]), d: Number(r[3]), ticks, offset };
}

function timeBytes(ticks: bigint, scale: number): Buffer {
  const len = scale <= 2 ? 3 : scale <= 4 ? 4 : 5;
  const units = ticks / 10n ** BigInt(7 - scale);
  const b = Buffer.alloc(len);
  b.writeUIntLE(Number(units), 0, len);
  return b;
}

/** 16 GUID bytes in SQL Server's order (first three groups little-endian). */
function guidBytes(s: string): Buffer {
  const h = s.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
}

/** A recorded scalar as text (numbers, bigint digits, booleans, ISO dates). */
function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  throw new Error(`fake TDS server: cannot encode ${typeof v}`);
}

function encodeValue(c: TdsColumn, v: unknown): Buffer {
  const isNull = v === null || v === undefined;
  switch (c.type) {
    case 'int':
      return isNull ? u8(0) : Buffer.concat([u8(4), i32(Number(v))]);
    case 'bigint': {
      if (isNull) return u8(0);
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(str(v)));
      return Buffer.concat([u8(8), b]);
    }
    case 'bit':
      return isNull ? u8(0) : Buffer.from([1, v ? 1 : 0]);
    case 'nvarchar': {
      if (isNull) return u16(0xffff);
      const b = ucs2(str(v));
      return Buffer.concat([u16(b.length), b]);
    }
    case 'varchar': {
      if (isNull) return u16(0xffff);
      const b = Buffer.from(str(v), 'latin1');
      return Buffer.concat([u16(b.length), b]);
    }
    case 'varbinary':
    case 'binary':
      return isNull ? u16(0xffff) : Buffer.concat([u16((v as Buffer).length), v as Buffer]);
    case 'uniqueidentifier':
      return isNull ? u8(0) : Buffer.concat([u8(16), guidBytes(str(v))]);
    case 'decimal': {
      if (isNull) return u8(0);
      const scale = c.scale ?? 0;
      const [int = '0', frac = ''] = str(v).replace(/^-/, '').split('.');
      const units = BigInt(int + frac.padEnd(scale, '0').slice(0, scale));
      const n = decimalBytes(c.precision ?? 18);
      const mag = Buffer.alloc(n - 1);
      let rest = units;
      for (let i = 0; i < n - 1; i++) {
        mag[i] = Number(rest & 0xffn);
        rest >>= 8n;
      }
      return Buffer.concat([u8(n), u8(str(v).startsWith('-') ? 0 : 1), mag]);
    }
    case 'money': {
      if (isNull) return u8(0);
      const [int = '0', frac = ''] = str(v).replace(/^-/, '').split('.');
      let units = BigInt(int + frac.padEnd(4, '0').slice(0, 4));
      if (str(v).startsWith('-')) units = -units;
      const high = Number(BigInt.asIntN(32, units >> 32n));
      const low = Number(BigInt.asUintN(32, units));
      return Buffer.concat([u8(8), i32(high), u32(low)]);
    }
    case 'date': {
      if (isNull) return u8(0);
      const p = parseIso(v);
      return Buffer.concat([u8(3), u24(daysFrom0001(p.y, p.m, p.d))]);
    }
    case 'datetime': {
      if (isNull) return u8(0);
      const p = parseIso(v);
      const days = daysFrom0001(p.y, p.m, p.d) - daysFrom0001(1900, 1, 1);
      const ticks300 = Number((p.ticks * 300n + 5_000_000n) / 10_000_000n);
      return Buffer.concat([u8(8), i32(days), u32(ticks300)]);
    }
    case 'datetime2': {
      if (isNull) return u8(0);
      const p = parseIso(v);
      const t = timeBytes(p.ticks, c.scale ?? 7);
      return Buffer.concat([u8(t.length + 3), t, u24(daysFrom0001(p.y, p.m, p.d))]);
    }
    case 'datetimeoffset': {
      if (isNull) return u8(0);
      const p = parseIso(v);
      // Stored as UTC date and time plus the offset.
      let ticks = p.ticks - BigInt(p.offset) * 600_000_000n;
      let days = daysFrom0001(p.y, p.m, p.d);
      const dayTicks = 864_000_000_000n;
      if (ticks < 0n) {
        ticks += dayTicks;
        days--;
      } else if (ticks >= dayTicks) {
        ticks -= dayTicks;
        days++;
      }
      const t = timeBytes(ticks, c.scale ?? 7);
      const off = Buffer.alloc(2);
      off.writeInt16LE(p.offset);
      return Buffer.concat([u8(t.length + 5), t, u24(days), off]);
    }
    case 'ntext':
    case 'image': {
      if (isNull) return u8(0);
      const data = c.type === 'ntext' ? ucs2(str(v)) : (v as Buffer);
      return Buffer.concat([u8(16), Buffer.alloc(16, 0xaa), Buffer.alloc(8), u32(data.length), data]);
    }
    default: {
      const never: never = c.type;
      throw new Error(`fake TDS server: no encoding for ${String(never)}`);
    }
  }
}

function resultTokens(results: readonly TdsResult[]): Buffer {
  const parts: Buffer[] = [];
  results.forEach((r, i) => {
    parts.push(colMetadata(r.columns));
    for (const row of r.rows) parts.push(u8(0xd1), ...r.columns.map((c, j) => encodeValue(c, row[j])));
    const last = i === results.length - 1;
    parts.push(doneToken((last ? DONE.FINAL : DONE.MORE) | DONE.COUNT, r.rows.length));
  });
  if (results.length === 0) parts.push(doneToken(DONE.FINAL));
  return Buffer.concat(parts);
}

/** sp_executesql's answer: each result set ends with DONEINPROC, then RETURNSTATUS 0 and DONEPROC. */
function rpcTokens(results: readonly TdsResult[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of results) {
    parts.push(colMetadata(r.columns));
    for (const row of r.rows) parts.push(u8(0xd1), ...r.columns.map((c, j) => encodeValue(c, row[j])));
    const done = doneToken(DONE.MORE | DONE.COUNT, r.rows.length);
    done[0] = 0xff;
    parts.push(done);
  }
  const proc = doneToken(DONE.FINAL);
  proc[0] = 0xfe;
  parts.push(u8(0x79), i32(0), proc);
  return Buffer.concat(parts);
}

/** The statement and parameter values of an sp_executesql RPC (INTN, BITN, FLTN, NVARCHAR incl. PLP, VARBINARY, VARCHAR). */
export function decodeRpc(payload: Buffer): { sql: string; params: unknown[] } {
  let at = payload.readUInt32LE(0); // ALL_HEADERS
  const nameLen = payload.readUInt16LE(at);
  at += 2;
  if (nameLen !== 0xffff)
    throw new TdsServerError(2812, 'fake TDS server: only sp_executesql RPCs are answered');
  const procId = payload.readUInt16LE(at);
  at += 2;
  if (procId !== 10)
    throw new TdsServerError(2812, `fake TDS server: RPC proc id ${procId} is not sp_executesql`);
  at += 2; // option flags
  const values: unknown[] = [];
  while (at < payload.length) {
    const nameChars = payload.readUInt8(at);
    at += 1 + nameChars * 2 + 1; // name, status flags
    const type = payload.readUInt8(at++);
    switch (type) {
      case 0x26: // INTN
      case 0x68: // BITN
      case 0x6d: {
        // FLTN
        at++; // max length
        const len = payload.readUInt8(at++);
        const v =
          len === 0
            ? null
            : type === 0x68
              ? payload.readUInt8(at) === 1
              : type === 0x6d
                ? len === 8
                  ? payload.readDoubleLE(at)
                  : payload.readFloatLE(at)
                : len === 8
                  ? Number(payload.readBigInt64LE(at))
                  : len === 4
                    ? payload.readInt32LE(at)
                    : len === 2
                      ? payload.readInt16LE(at)
                      : payload.readUInt8(at);
        at += len;
        values.push(v);
        break;
      }
      case 0xe7: // NVARCHAR
      case 0xa7: // BIGVARCHAR
      case 0xa5: {
        // BIGVARBIN
        const max = payload.readUInt16LE(at);
        at += 2;
        if (type !== 0xa5) at += 5; // collation
        let bytes: Buffer | null;
        if (max === 0xffff) {
          // PLP: total length (8 bytes), chunks of (length, data), a zero terminator
          const total = payload.readBigUInt64LE(at);
          at += 8;
          if (total === 0xffffffffffffffffn) bytes = null;
          else {
            const chunks: Buffer[] = [];
            for (;;) {
              const n = payload.readUInt32LE(at);
              at += 4;
              if (n === 0) break;
              chunks.push(payload.subarray(at, at + n));
              at += n;
            }
            bytes = Buffer.concat(chunks);
          }
        } else {
          const n = payload.readUInt16LE(at);
          at += 2;
          bytes = n === 0xffff ? null : payload.subarray(at, at + n);
          if (bytes) at += n;
        }
        values.push(
          bytes === null
            ? null
            : type === 0xe7
              ? bytes.toString('utf16le')
              : type === 0xa7
                ? bytes.toString('latin1')
                : Buffer.from(bytes),
        );
        break;
      }
      default:
        throw new TdsServerError(
          8016,
          `fake TDS server: RPC parameter type 0x${type.toString(16)} is not decoded`,
        );
    }
  }
  // sp_executesql's own parameters: @statement, @params (declarations), then the values.
  const [sql, , ...params] = values;
  if (typeof sql !== 'string')
    throw new TdsServerError(8016, 'fake TDS server: sp_executesql without a statement');
  return { sql, params };
}

function preloginReply(): Buffer {
  const options: [number, Buffer][] = [
    [0x00, Buffer.from([16, 0, 0x07, 0xd0, 0, 0])], // version 16.0.2000
    [0x01, Buffer.from([0x02])], // ENCRYPT_NOT_SUP: the client goes on without TLS
    [0x02, Buffer.from([0])],
    [0x03, Buffer.alloc(4)],
    [0x04, Buffer.from([0])],
  ];
  let at = options.length * 5 + 1;
  const head: Buffer[] = [];
  for (const [t, data] of options) {
    const h = Buffer.alloc(5);
    h.writeUInt8(t, 0);
    h.writeUInt16BE(at, 1);
    h.writeUInt16BE(data.length, 3);
    head.push(h);
    at += data.length;
  }
  return Buffer.concat([...head, u8(0xff), ...options.map(([, d]) => d)]);
}

function loginReply(database: string): Buffer {
  const ack = Buffer.concat([
    u8(1),
    Buffer.from([0x74, 0x00, 0x00, 0x04]),
    bVarchar('Microsoft SQL Server'),
    Buffer.from([16, 0, 0x07, 0xd0]),
  ]);
  return Buffer.concat([
    envChange(1, database, 'master'),
    envChange(4, '4096', '4096'),
    token(0xad, ack),
    doneToken(DONE.FINAL),
  ]);
}

/** The text of a SQL_BATCH payload: ALL_HEADERS (its length first), then UCS-2. */
function batchText(payload: Buffer): string {
  const headers = payload.readUInt32LE(0);
  return payload.subarray(headers).toString('utf16le');
}

export interface FakeTdsServer {
  readonly port: number;
  /** Every SQL batch received, in order. */
  readonly batches: string[];
  /** Every sp_executesql RPC received, in order. */
  readonly rpcs: { sql: string; params: unknown[] }[];
  /** Logins received (user names). */
  readonly logins: number;
  close(): Promise<void>;
}

export interface FakeTdsOptions {
  /** What the login reports as the current database. */
  readonly database?: string;
  /** Refuse every login with this error (e.g. 18456 "Login failed for user"). */
  readonly loginError?: TdsServerError;
}

/** Starts the fake server on 127.0.0.1 (a free port). */
export async function startFakeTdsServer(
  respond: TdsResponder,
  options: FakeTdsOptions = {},
): Promise<FakeTdsServer> {
  const database = options.database ?? 'erp';
  const batches: string[] = [];
  const rpcs: { sql: string; params: unknown[] }[] = [];
  const sockets = new Set<Socket>();
  let logins = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let message: Buffer[] = [];
    const send = (payload: Buffer) => {
      // Split into packets of at most 4096 bytes (the packet size the login agreed).
      const max = 4096 - 8;
      let id = 1;
      for (let at = 0; at === 0 || at < payload.length; at += max) {
        const chunk = payload.subarray(at, at + max);
        const h = Buffer.alloc(8);
        h.writeUInt8(PACKET.REPLY, 0);
        h.writeUInt8(at + max >= payload.length ? 0x01 : 0x00, 1);
        h.writeUInt16BE(chunk.length + 8, 2);
        h.writeUInt16BE(52, 4);
        h.writeUInt8(id++ & 0xff, 6);
        socket.write(Buffer.concat([h, chunk]));
        if (payload.length === 0) break;
      }
    };
    const handle = (type: number, payload: Buffer) => {
      switch (type) {
        case PACKET.PRELOGIN:
          send(preloginReply());
          return;
        case PACKET.LOGIN7: {
          logins++;
          const e = options.loginError;
          send(
            e
              ? Buffer.concat([errorToken(e.number, e.message, 14), doneToken(DONE.ERROR)])
              : loginReply(database),
          );
          return;
        }
        case PACKET.SQL_BATCH: {
          const sql = batchText(payload);
          // tedious's session settings after login (set textsize ..., set ansi_nulls on, ...).
          if (/^\s*set\s/i.test(sql) && !/\bselect\b/i.test(sql)) {
            send(doneToken(DONE.FINAL));
            return;
          }
          batches.push(sql);
          let results: readonly TdsResult[];
          try {
            results = respond(sql, []);
          } catch (err) {
            const e = err instanceof TdsServerError ? err : new TdsServerError(50000, (err as Error).message);
            send(Buffer.concat([errorToken(e.number, e.message, e.severity), doneToken(DONE.ERROR)]));
            return;
          }
          send(resultTokens(results));
          return;
        }
        case PACKET.RPC: {
          let results: readonly TdsResult[];
          try {
            const { sql, params } = decodeRpc(payload);
            rpcs.push({ sql, params });
            results = respond(sql, params);
          } catch (err) {
            const e = err instanceof TdsServerError ? err : new TdsServerError(50000, (err as Error).message);
            send(Buffer.concat([errorToken(e.number, e.message, e.severity), doneToken(DONE.ERROR)]));
            return;
          }
          send(rpcTokens(results));
          return;
        }
        case PACKET.ATTENTION:
          send(doneToken(DONE.ATTN));
          return;
        default:
          send(
            Buffer.concat([
              errorToken(50000, `fake TDS server: packet type 0x${type.toString(16)} is not supported`, 16),
              doneToken(DONE.ERROR),
            ]),
          );
      }
    };
    socket.on('data', (data: Buffer) => {
      buf = Buffer.concat([buf, data]);
      while (buf.length >= 8) {
        const len = buf.readUInt16BE(2);
        if (buf.length < len) return;
        const type = buf.readUInt8(0);
        const eom = (buf.readUInt8(1) & 0x01) !== 0;
        message.push(buf.subarray(8, len));
        buf = buf.subarray(len);
        if (eom) {
          const payload = Buffer.concat(message);
          message = [];
          handle(type, payload);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    batches,
    rpcs,
    get logins() {
      return logins;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

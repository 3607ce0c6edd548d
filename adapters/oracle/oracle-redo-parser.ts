// Parses LogMiner's SQL_REDO / SQL_UNDO text into column values. LogMiner hands row data only as
// SQL (`insert into "APP"."T"("ID","NAME") values ('1','O''Brien');`), so this is a tokenizer
// plus a parser for the three statement shapes it writes, never regular expressions over the
// whole text: a quote, a comma or the word `and` inside a value must not move a boundary.
import { BridgeError } from '../../src/core/errors.js';

/** A value as the redo text spells it; oracle-types.ts turns it into an event value per column type. */
export type RedoValue =
  | { readonly kind: 'null' }
  /** A quoted literal ('' inside already unescaped); N'...' too. LogMiner quotes numbers as well. */
  | { readonly kind: 'string'; readonly text: string }
  /** An unquoted numeric literal. */
  | { readonly kind: 'number'; readonly text: string }
  /** A function call: TO_DATE, TO_TIMESTAMP, TO_TIMESTAMP_TZ, HEXTORAW, UNISTR, TO_BLOB, EMPTY_CLOB... */
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly RedoValue[] };

export type RedoStatement =
  | {
      readonly op: 'insert';
      readonly owner: string;
      readonly table: string;
      readonly values: Map<string, RedoValue>;
    }
  | {
      readonly op: 'update';
      readonly owner: string;
      readonly table: string;
      /** SET list: the new values of the changed columns. */
      readonly values: Map<string, RedoValue>;
      /** WHERE list: the old values (every column with supplemental logging ALL). */
      readonly where: Map<string, RedoValue>;
    }
  | {
      readonly op: 'delete';
      readonly owner: string;
      readonly table: string;
      readonly where: Map<string, RedoValue>;
    };

export class RedoParseError extends BridgeError {
  override readonly code = 'ORACLE_REDO_UNPARSABLE';
}

type Token =
  | { t: 'ident'; v: string } // "quoted identifier"
  | { t: 'word'; v: string } // bare word, upper-cased
  | { t: 'string'; v: string }
  | { t: 'number'; v: string }
  | { t: 'punct'; v: string }
  | { t: 'end'; v: '' };

function isWordChar(c: string): boolean {
  return /[A-Za-z0-9_$#]/.test(c);
}

/** Splits redo SQL into tokens; quotes are read character by character, '' and "" as escapes. */
export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') {
      i++;
      continue;
    }
    if (c === "'" || ((c === 'N' || c === 'n') && sql[i + 1] === "'")) {
      const q = quoted(sql, c === "'" ? i : i + 1, 'string literal');
      out.push({ t: 'string', v: q.text });
      i = q.end;
      continue;
    }
    if (c === '"') {
      const q = quoted(sql, i, 'identifier');
      out.push({ t: 'ident', v: q.text });
      i = q.end;
      continue;
    }
    const next = sql[i + 1] ?? '';
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(next)) || (c === '-' && /[0-9.]/.test(next))) {
      let j = i + 1;
      while (j < n && /[0-9.eE+-]/.test(sql[j]!)) {
        // a sign only directly after an exponent marker
        if ((sql[j] === '+' || sql[j] === '-') && !/[eE]/.test(sql[j - 1]!)) break;
        j++;
      }
      out.push({ t: 'number', v: sql.slice(i, j) });
      i = j;
      continue;
    }
    if (isWordChar(c)) {
      let j = i + 1;
      while (j < n && isWordChar(sql[j]!)) j++;
      out.push({ t: 'word', v: sql.slice(i, j).toUpperCase() });
      i = j;
      continue;
    }
    if (c === '|' && next === '|') {
      out.push({ t: 'punct', v: '||' });
      i += 2;
      continue;
    }
    if ('(),.=;'.includes(c)) {
      out.push({ t: 'punct', v: c });
      i++;
      continue;
    }
    throw new RedoParseError(`unexpected character ${JSON.stringify(c)} in redo SQL: ${clip(sql)}`);
  }
  out.push({ t: 'end', v: '' });
  return out;
}

/**
 * The text of a quoted token starting at `start` (its opening quote, ' or "), a doubled quote
 * read as one; `end` is the index after the closing quote.
 */
function quoted(sql: string, start: number, what: string): { text: string; end: number } {
  const quote = sql[start]!;
  let text = '';
  let i = start + 1;
  for (;;) {
    if (i >= sql.length) throw new RedoParseError(`unterminated ${what} in redo SQL: ${clip(sql)}`);
    const ch = sql[i]!;
    if (ch === quote) {
      if (sql[i + 1] !== quote) return { text, end: i + 1 };
      text += quote;
      i += 2;
      continue;
    }
    text += ch;
    i++;
  }
}

function clip(sql: string): string {
  return sql.length > 200 ? `${sql.slice(0, 200)}...` : sql;
}

class Parser {
  #i = 0;
  constructor(
    readonly tokens: Token[],
    readonly sql: string,
  ) {}

  peek(): Token {
    return this.tokens[this.#i]!;
  }
  next(): Token {
    const t = this.tokens[this.#i]!;
    if (t.t !== 'end') this.#i++;
    return t;
  }
  fail(what: string): never {
    const t = this.peek();
    throw new RedoParseError(
      `expected ${what}, found ${t.t === 'end' ? 'the end' : JSON.stringify(t.v)} in redo SQL: ${clip(this.sql)}`,
    );
  }
  word(w: string): void {
    const t = this.next();
    if (t.t !== 'word' || t.v !== w) {
      this.#i--;
      this.fail(w);
    }
  }
  isWord(w: string): boolean {
    const t = this.peek();
    return t.t === 'word' && t.v === w;
  }
  punct(p: string): void {
    const t = this.next();
    if (t.t !== 'punct' || t.v !== p) {
      this.#i--;
      this.fail(`"${p}"`);
    }
  }
  isPunct(p: string): boolean {
    const t = this.peek();
    return t.t === 'punct' && t.v === p;
  }
  ident(): string {
    const t = this.next();
    if (t.t === 'ident') return t.v;
    if (t.t === 'word') return t.v;
    this.#i--;
    return this.fail('an identifier');
  }
  /** "OWNER"."TABLE" */
  tableName(): { owner: string; table: string } {
    const owner = this.ident();
    this.punct('.');
    return { owner, table: this.ident() };
  }
  /** A value, or several joined by `||` (long literals are split so: a CONCAT call). */
  value(): RedoValue {
    const first = this.primary();
    if (!this.isPunct('||')) return first;
    const args = [first];
    while (this.isPunct('||')) {
      this.next();
      args.push(this.primary());
    }
    return { kind: 'call', name: '||', args };
  }
  primary(): RedoValue {
    const t = this.next();
    switch (t.t) {
      case 'string':
        return { kind: 'string', text: t.v };
      case 'number':
        return { kind: 'number', text: t.v };
      case 'word': {
        if (t.v === 'NULL') return { kind: 'null' };
        if (!this.isPunct('(')) {
          this.#i--;
          return this.fail('a value');
        }
        this.punct('(');
        const args: RedoValue[] = [];
        if (!this.isPunct(')')) {
          args.push(this.value());
          while (this.isPunct(',')) {
            this.next();
            args.push(this.value());
          }
        }
        this.punct(')');
        return { kind: 'call', name: t.v, args };
      }
      default:
        this.#i--;
        return this.fail('a value');
    }
  }
  /** `"A" = v, "B" = NULL` */
  setList(): Map<string, RedoValue> {
    const out = new Map<string, RedoValue>();
    for (;;) {
      const col = this.ident();
      this.punct('=');
      out.set(col, this.value());
      if (!this.isPunct(',')) return out;
      this.next();
    }
  }
  /** `"A" = v and "B" IS NULL [and ROWID = '...']`: LogMiner writes only conjunctions of these. */
  whereList(): Map<string, RedoValue> {
    const out = new Map<string, RedoValue>();
    for (;;) {
      const quoted = this.peek().t === 'ident';
      const col = this.ident();
      let v: RedoValue;
      if (this.isWord('IS')) {
        this.next();
        this.word('NULL');
        v = { kind: 'null' };
      } else {
        this.punct('=');
        v = this.value();
      }
      // An unquoted ROWID is the pseudo-column (absent with NO_ROWID_IN_STMT), not a column value.
      if (quoted || col !== 'ROWID') out.set(col, v);
      if (!this.isWord('AND')) return out;
      this.next();
    }
  }
  end(): void {
    if (this.isPunct(';')) this.next();
    if (this.peek().t !== 'end') this.fail('the end of the statement');
  }
}

/** Parses one complete (continuation rows already joined) SQL_REDO or SQL_UNDO statement. */
export function parseRedo(sql: string): RedoStatement {
  const p = new Parser(tokenize(sql), sql);
  const first = p.next();
  if (first.t !== 'word') p.fail('insert, update or delete');
  switch (first.v) {
    case 'INSERT': {
      p.word('INTO');
      const { owner, table } = p.tableName();
      p.punct('(');
      const cols: string[] = [p.ident()];
      while (p.isPunct(',')) {
        p.next();
        cols.push(p.ident());
      }
      p.punct(')');
      p.word('VALUES');
      p.punct('(');
      const vals: RedoValue[] = [p.value()];
      while (p.isPunct(',')) {
        p.next();
        vals.push(p.value());
      }
      p.punct(')');
      p.end();
      if (vals.length !== cols.length)
        throw new RedoParseError(
          `${cols.length} columns but ${vals.length} values in redo SQL: ${clip(sql)}`,
        );
      return { op: 'insert', owner, table, values: new Map(cols.map((c, i) => [c, vals[i]!])) };
    }
    case 'UPDATE': {
      const { owner, table } = p.tableName();
      p.word('SET');
      const values = p.setList();
      let where = new Map<string, RedoValue>();
      if (p.isWord('WHERE')) {
        p.next();
        where = p.whereList();
      }
      p.end();
      return { op: 'update', owner, table, values, where };
    }
    case 'DELETE': {
      p.word('FROM');
      const { owner, table } = p.tableName();
      let where = new Map<string, RedoValue>();
      if (p.isWord('WHERE')) {
        p.next();
        where = p.whereList();
      }
      p.end();
      return { op: 'delete', owner, table, where };
    }
    default:
      return p.fail('insert, update or delete');
  }
}

/** UNISTR's escapes: `\XXXX` is one UTF-16 code unit (surrogate pairs as two), `\\` a backslash. */
export function decodeUnistr(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    if (text[i + 1] === '\\') {
      out += '\\';
      i++;
      continue;
    }
    const hex = text.slice(i + 1, i + 5);
    if (!/^[0-9A-Fa-f]{4}$/.test(hex)) throw new RedoParseError(`bad UNISTR escape \\${hex}`);
    out += String.fromCharCode(parseInt(hex, 16));
    i += 4;
  }
  return out;
}

// What a diff-mode table keeps of each row between passes: its key as text and a content hash.
import { createHash } from 'node:crypto';
import type { Row } from '../../src/sql/sql-values.js';

/** A key as JSON in key-column order: the diff store's and the message id's form of a key. */
export function keyText(values: readonly unknown[]): string {
  return JSON.stringify(values);
}

/** A row's content hash (columns in the order the query returned them). */
export function rowHash(row: Row): string {
  return createHash('sha1').update(JSON.stringify(row)).digest('base64url');
}

/** A short stable digest for message ids built from arbitrary values. */
export function digest(text: string): string {
  return createHash('sha1').update(text).digest('base64url').slice(0, 22);
}

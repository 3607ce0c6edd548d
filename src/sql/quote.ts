// Identifier and literal quoting per SQL family: "double quotes" (PostgreSQL, SQLite, Oracle),
// `backticks` (MySQL/MariaDB), [brackets] (SQL Server). Dialects name theirs as `quoteIdentifier`.

/** "name" (PostgreSQL, SQLite, Oracle). */
export const dq = (s: string) => `"${s.replace(/"/g, '""')}"`;
/** `name` (MySQL/MariaDB). */
export const bq = (s: string) => `\`${s.replace(/`/g, '``')}\``;
/** [name] (SQL Server). */
export const br = (s: string) => `[${s.replace(/]/g, ']]')}]`;
/** 'text' as a SQL string literal (for DDL, where values cannot be bound). */
export const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

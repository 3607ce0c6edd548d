// Idempotency-Key records for POST (draft-ietf-httpapi-idempotency-key-header): the first response
// to a key is stored here, in the same transaction as the insert it describes.
import type { Knex } from 'knex';

export const name = '20250101000000_idempotency';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sluice_idempotency', (t) => {
    t.string('scope', 200).notNullable().comment('resource and caller');
    t.string('idem_key', 200).notNullable();
    t.string('fingerprint', 64).notNullable().comment('sha256 of the request body');
    t.integer('status').notNullable();
    t.text('response').notNullable().comment('JSON: headers and body of the first response');
    t.bigInteger('created_ms').notNullable();
    t.primary(['scope', 'idem_key']);
    t.index(['created_ms']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('sluice_idempotency');
}

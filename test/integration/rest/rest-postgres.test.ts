import { TestPostgres } from '../../support/postgres-server.js';
import { restSuite } from './rest-suite.js';

restSuite('PostgreSQL', {
  flavor: 'postgres',
  async start() {
    const pg = await TestPostgres.start();
    return { url: pg.url(), stop: () => pg.stop() };
  },
});

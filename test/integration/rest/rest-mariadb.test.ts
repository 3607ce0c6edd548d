import { mariadbMissing, TestMariaDB } from '../../support/mariadb-server.js';
import { restSuite } from './rest-suite.js';

restSuite(
  'MariaDB',
  {
    flavor: 'mysql',
    async start() {
      const db = await TestMariaDB.start();
      return { url: db.url(), stop: () => db.stop() };
    },
  },
  mariadbMissing,
);

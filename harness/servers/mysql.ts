/**
 * MySQL (seed 002's 10.10.13.110:3306): MariaDB, a server-first protocol (the server speaks before
 * the client sends a byte), which is what Istio's protocol sniffing gets wrong. The program and its
 * datadir template are servers/mariadb.ts.
 */
import { MARIADB_ENV, MARIADB_IMAGE, MARIADB_PASSWORD, MARIADB_READY, startMariadb } from './mariadb.ts';
import type { ServerType } from './serverType.ts';

export const mysql: ServerType = {
  name: 'mysql',
  summary: 'MariaDB',
  startInLab: async (srv, ns, ctx) => [await startMariadb(srv.name, ns, srv.addresses[0]!, srv.ports[0] ?? 3306, ctx)],
  image: MARIADB_IMAGE,
  container: () => ({ env: { ...MARIADB_ENV }, ready: { line: MARIADB_READY, times: 2 }, tls: false }),
  defaultProbe: (host, port) => ({ mysql: { host, port, password: MARIADB_PASSWORD } }),
  portNames: ['mysql'],
  wellKnownPort: (port) => port === 3306,
};

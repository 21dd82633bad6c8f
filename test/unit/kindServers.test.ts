/** The kind backend's server containers: each is awaited until it serves, by the ready line it prints. */
import test from 'ava';
import { serverContainer } from '../../harness/kind/servers.ts';
import { serverType } from '../../harness/servers/registry.ts';
import { MARIADB_READY } from '../../harness/servers/mariadb.ts';
import { REDIS_READY } from '../../harness/servers/redis.ts';

test("servers are awaited until they serve: the ready line each prints, checked against real servers' logs", async (t) => {
  const spec = (kind: string, ports: number[]) => ({ name: 's', kind, addresses: ['10.0.0.6'], ports, hostnames: [] });
  const ready = (kind: string, ports: number[]) => serverType(kind).container(spec(kind, ports)).ready;
  t.deepEqual(ready('redis', [7000, 7001, 7002]), { line: REDIS_READY, times: 3 });
  t.is(ready('mysql', [3306]).line, MARIADB_READY, 'the lines the lab waits for on the same servers');
  t.is(ready('mysql', [3306]).times, 2, 'the MariaDB image runs an initialisation server first');
  // The lines as Debian's redis-server 7 and mariadbd (what the lab runs) print them.
  t.regex('1:M 03 Dec 2026 08:00:00.000 * Ready to accept connections tcp', ready('redis', [7000]).line);
  t.regex('2026-12-03  8:00:00 0 [Note] /usr/sbin/mariadbd: ready for connections.', ready('mysql', [3306]).line);
  t.regex('{"time":"2026-12-03T08:00:00Z","level":"INFO","msg":"go-httpbin listening on http://0.0.0.0:80"}', ready('http', [80]).line);
  // testcontainers holds start() until the wait strategy is met.
  const container = (await serverContainer(spec('redis', [7000, 7001]))) as unknown as { waitStrategy?: { constructor: { name: string } } };
  const strategy = container.waitStrategy;
  t.is(strategy?.constructor.name, 'LogWaitStrategy');
});

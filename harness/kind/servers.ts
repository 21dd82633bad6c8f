/**
 * The scenario's external servers on kind: Docker containers on the `kind` network (testcontainers),
 * each started only once it says it serves. A container that is merely running is not a server: a
 * MariaDB image initialises its datadir first (a temporary server, then the real one), and a probe
 * in that window sees a refused or reset connection the scenario never had.
 */
import { GenericContainer, Wait } from 'testcontainers';
import { MARIADB_ENV } from '../k8s/objects.ts';
import { MARIADB_READY } from '../servers/mariadb.ts';
import { REDIS_READY } from '../servers/redis.ts';
import { HTTPBIN_IMAGE, MARIADB_IMAGE, REDIS_IMAGE } from '../servers/images.ts';

/** The log line a server prints once it accepts connections, and how many times it must appear. */
export interface ServerReadiness {
  line: RegExp;
  times: number;
}

/**
 * Redis prints "Ready to accept connections" per server (one per port, as in the seed's cluster);
 * the MariaDB image prints "ready for connections." twice (its initialisation server, then the
 * real one); go-httpbin logs "go-httpbin listening on" when it listens. The Redis and MariaDB lines
 * are the ones the lab waits for on the same servers (harness/lab/servers.ts), so every lab run
 * checks them against real output.
 */
export function serverReadiness(kind: string, ports: number[]): ServerReadiness {
  if (kind === 'redis') return { line: REDIS_READY, times: ports.length };
  if (kind === 'mysql') return { line: MARIADB_READY, times: 2 };
  return { line: /go-httpbin listening on/, times: 1 };
}

/** Redis: one server per port in the foreground of one shell, so their logs are the container's. */
function redisCommand(ports: number[], password?: string): string[] {
  const auth = password ? ` --requirepass '${password}'` : '';
  return [
    'sh',
    '-c',
    `${ports.map((p) => `redis-server --port ${p} --protected-mode no --save '' --appendonly no${auth} &`).join(' ')} wait`,
  ];
}

/** Where an HTTPS server's certificate and key are copied, and the go-httpbin variables that name them. */
export const HTTPS_FILES = { cert: '/certs/server.crt', key: '/certs/server.key' };
export const HTTPS_ENV = { HTTPS_CERT_FILE: HTTPS_FILES.cert, HTTPS_KEY_FILE: HTTPS_FILES.key };

export function serverContainer(kind: string, ports: number[], password?: string): GenericContainer {
  const ready = serverReadiness(kind, ports);
  const wait = Wait.forLogMessage(ready.line, ready.times);
  if (kind === 'redis') return new GenericContainer(REDIS_IMAGE).withCommand(redisCommand(ports, password)).withWaitStrategy(wait);
  if (kind === 'mysql') return new GenericContainer(MARIADB_IMAGE).withEnvironment({ ...MARIADB_ENV }).withWaitStrategy(wait);
  return new GenericContainer(HTTPBIN_IMAGE).withEnvironment({ PORT: String(ports[0] ?? 80) }).withWaitStrategy(wait);
}

/** What testcontainers does for a server, as the `docker run` a dry-run prints. */
export function serverRunArgs(kind: string, ports: number[], scenario: string, password?: string): string[] {
  const base = ['run', '-d', '--network', 'kind', '--label', `egress-lab.io/scenario=${scenario}`];
  const env = (vars: Record<string, string>) => Object.entries(vars).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  if (kind === 'redis') return [...base, REDIS_IMAGE, ...redisCommand(ports, password)];
  if (kind === 'mysql') return [...base, ...env(MARIADB_ENV), MARIADB_IMAGE];
  return [...base, ...env({ PORT: String(ports[0] ?? 80), ...(kind === 'https' ? HTTPS_ENV : {}) }), HTTPBIN_IMAGE];
}

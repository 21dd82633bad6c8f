/**
 * The scenario's external servers on kind: Docker containers on the `kind` network (testcontainers),
 * each started only once it says it serves. A container that is merely running is not a server: a
 * MariaDB image initialises its datadir first (a temporary server, then the real one), and a probe
 * in that window sees a refused or reset connection the scenario never had. What each kind runs
 * and waits for comes from its module (servers/<kind>.ts ServerType.container); the Redis and
 * MariaDB ready lines are the ones the lab waits for on the same servers, so every lab run checks
 * them against real output.
 */
import type { GenericContainer } from 'testcontainers';
import { serverType } from '../servers/registry.ts';
import type { ServerSpec } from '../servers/serverType.ts';

/** testcontainers is loaded on use: it is large, and only a live kind run starts containers. */
export async function serverContainer(srv: ServerSpec): Promise<GenericContainer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const t = serverType(srv.kind);
  const spec = t.container(srv);
  let c = new GenericContainer(t.image).withEnvironment(spec.env).withWaitStrategy(Wait.forLogMessage(spec.ready.line, spec.ready.times));
  if (spec.command) c = c.withCommand(spec.command);
  return c;
}

/** What testcontainers does for a server, as the `docker run` a dry-run prints. */
export function serverRunArgs(srv: ServerSpec, scenario: string): string[] {
  const t = serverType(srv.kind);
  const spec = t.container(srv);
  const env = Object.entries(spec.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  return ['run', '-d', '--network', 'kind', '--label', `egress-lab.io/scenario=${scenario}`, ...env, t.image, ...(spec.command ?? [])];
}

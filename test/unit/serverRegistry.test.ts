/** servers/registry.ts: every server kind is one module, the schema's enum is the registry's list, and no scenario value reaches a shell script. */
import test from 'ava';
import { externalServerSchema } from '../../harness/scenario/schema.ts';
import { guessServerKind, SERVER_IMAGES, SERVER_KINDS, serverType } from '../../harness/servers/registry.ts';
import { serverRunArgs } from '../../harness/kind/servers.ts';

const spec = (kind: string, extra: Partial<{ ports: number[]; password: string; hostnames: string[] }> = {}) => ({
  name: 'srv',
  kind,
  addresses: ['10.0.0.6'],
  ports: [7000],
  hostnames: [],
  ...extra,
});

test('the schema accepts exactly the registry kinds', (t) => {
  t.deepEqual(SERVER_KINDS, ['redis', 'mysql', 'http', 'https']);
  for (const kind of SERVER_KINDS) t.true(externalServerSchema.safeParse(spec(kind)).success, kind);
  const bad = externalServerSchema.safeParse(spec('postgres'));
  t.false(bad.success);
  t.regex(JSON.stringify(bad.error?.issues), /redis.*mysql.*http.*https/);
});

test('an unknown kind is an error naming the known ones, never a default server', (t) => {
  t.throws(() => serverType('postgres'), { message: 'unknown server kind "postgres": expected one of redis, mysql, http, https' });
  for (const kind of SERVER_KINDS) t.is(serverType(kind).name, kind);
});

test('each kind names its image, and the preload list holds each once', (t) => {
  t.deepEqual(SERVER_IMAGES, ['docker.io/library/redis:7.4', 'docker.io/library/mariadb:11.4', 'docker.io/mccutchen/go-httpbin:v2.15.0']);
  t.true(serverType('https').container(spec('https')).tls);
  t.false(serverType('http').container(spec('http')).tls);
});

test('default probes speak each kind', (t) => {
  t.deepEqual(serverType('redis').defaultProbe('10.0.0.6', 7000), { redis: { host: '10.0.0.6', port: 7000 } });
  t.deepEqual(serverType('mysql').defaultProbe('db', 3306), { mysql: { host: 'db', port: 3306, password: 'lab-password' } });
  t.deepEqual(serverType('http').defaultProbe('h', 80), { http: { url: 'http://h:80/' } });
  t.deepEqual(serverType('https').defaultProbe('h', 443), { http: { url: 'https://h:443/' } });
});

test('the port guess reads Istio protocol prefixes before well-known ports', (t) => {
  t.is(guessServerKind(3306, []), 'mysql');
  t.is(guessServerKind(7001, []), 'redis');
  t.is(guessServerKind(9999, ['redis-main']), 'redis');
  t.is(guessServerKind(3306, ['http-admin']), 'http', 'the name wins');
  t.is(guessServerKind(8443, []), 'https');
  t.is(guessServerKind(15443, ['tls']), 'https');
  t.is(guessServerKind(5432, ['tcp-postgres']), undefined);
});

test("a Redis password with shell metacharacters stays out of the container's script", (t) => {
  const password = "'; touch /tmp/x; '$(id)\nnext";
  const c = serverType('redis').container(spec('redis', { ports: [7000, 7001], password }));
  t.is(c.env.REDIS_PASSWORD, password);
  t.is(c.env.REDIS_PORTS, '7000 7001');
  t.false(c.command!.join(' ').includes('touch'));
  const args = serverRunArgs(spec('redis', { password }), 'scn');
  t.true(args.includes(`REDIS_PASSWORD=${password}`), 'one argv element, no shell between');
});

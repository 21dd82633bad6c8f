import test from 'ava';
import { expectsSuccess, runWithRetry } from '../../harness/run/retry.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { probeSchema, type Probe } from '../../harness/scenario/schema.ts';

function catalogProbe(scenario: string, name: string): Probe {
  const p = loadScenarioFile(scenario).scenario.probes.find((x) => x.name === name);
  if (!p) throw new Error(`no probe ${name} in ${scenario}`);
  return p;
}

// Real probes from scenarios/*.yaml and whether the kind backend may retry them.
const CATALOG: Array<[scenario: string, probe: string, success: boolean, why: string]> = [
  ['redis-7000-modern', 'nc-7000', true, 'received -NOAUTH, connection stays open'],
  ['redis-7000-modern', 'redis-client-7000', true, 'reply-error NOAUTH: Redis answered'],
  ['redis-7000-fix-service-endpoints', 'nc-clusterip-7000', true, 'received -NOAUTH through the ClusterIP'],
  ['redis-7000-fix-service-endpoints', 'nc-direct-7000-still-broken', false, 'HTTP/1.1 400 and eof: the incident'],
  ['redis-7000', 'nc-7000', false, 'legacy HTTP/1.1 400 from the sidecar'],
  ['redis-7000', 'redis-client-7000', false, 'errorClass protocol'],
  ['redis-7000-registry-only', 'nc-7001', false, 'zero bytes, eof or reset: blackholed'],
  ['redis-7000-registry-only', 'redis-client-7001', false, 'errorClass reset or closed'],
  ['mysql-3306-foreign-serviceentry', 'telnet-external-3306', false, 'connects then closed with zero bytes'],
  ['mysql-3306-foreign-serviceentry', 'telnet-mysql-server', true, 'greeting received, idle'],
  ['mysql-3306-foreign-serviceentry', 'mysql-client-mysql-server', true, 'errorClass none, MariaDB greeting'],
  ['mysql-http-port-hang', 'mysql-external-hangs', false, 'errorClass timeout'],
  ['mysql-http-port-hang', 'telnet-external-silent', false, 'zero bytes, idle: the hang'],
  ['registry-only-http', 'curl-http-httpbin', false, 'block_all 502'],
  ['registry-only-https', 'curl-https-baidu', false, 'curl exit 35'],
  ['https-serviceentry-wrong-cert', 'curl-163-gets-baidu-cert', false, 'curl exit 60'],
  ['https-serviceentry-sni', 'curl-163-passes', true, 'exit 0, 200'],
  ['virtualservice-timeout', 'delay-5-times-out', false, '504 upstream request timeout'],
  ['virtualservice-timeout', 'delay-1-succeeds', true, 'exit 0, 200'],
  ['registry-only-fix-serviceentry', 'curl-http-httpbin', true, 'exit 0, 200 through the ServiceEntry'],
];

test("expectsSuccess classifies the catalog's probes", (t) => {
  const seen = CATALOG.map(([s, p]) => [s, p, expectsSuccess(catalogProbe(s, p))]);
  t.deepEqual(
    seen,
    CATALOG.map(([s, p, ok]) => [s, p, ok]),
  );
  // Both kinds are represented, so a constant answer cannot pass.
  t.true(CATALOG.filter((c) => c[2]).length >= 7);
  t.true(CATALOG.filter((c) => !c[2]).length >= 10);
});

const BLOCKS = {
  tcp: { tcp: { host: '10.0.0.6', port: 7001 } },
  redis: { redis: { host: '10.0.0.6', port: 7001, command: ['PING'] } },
  http: { http: { url: 'http://10.0.0.6/' } },
};
const probe = (client: Record<string, unknown> | undefined, kind: keyof typeof BLOCKS = 'tcp'): Probe =>
  probeSchema.parse({ name: 'p', from: 'sleep', ...BLOCKS[kind], expect: client ? { client } : {} });

test('expectsSuccess: each failure marker alone makes a probe an expected failure', (t) => {
  t.true(expectsSuccess(probe({ connect: 'ok' })));
  t.false(expectsSuccess(probe(undefined)), 'no client expectation: nothing says it should succeed');
  t.false(expectsSuccess(probe({ end: 'idle' })), 'connect not stated');
  t.false(expectsSuccess(probe({ connect: 'refused' })));
  t.false(expectsSuccess(probe({ connect: 'timeout' })));
  t.false(expectsSuccess(probe({ connect: 'ok', errorClass: ['none', 'reset'] })));
  t.true(expectsSuccess(probe({ connect: 'ok', errorClass: ['none', 'reply-error'] }, 'redis')));
  t.false(expectsSuccess(probe({ connect: 'ok', exitCode: 52 }, 'http')));
  t.false(expectsSuccess(probe({ connect: 'ok', exitCode: 0, status: 404 }, 'http')));
  t.true(expectsSuccess(probe({ connect: 'ok', exitCode: 0, status: 301 }, 'http')));
  t.false(expectsSuccess(probe({ connect: 'ok', end: 'eof' })));
  t.false(expectsSuccess(probe({ connect: 'ok', end: ['idle', 'reset'] })));
  t.false(expectsSuccess(probe({ connect: 'ok', bytes: 0 })));
  t.true(expectsSuccess(probe({ connect: 'ok', bytes: 34 })));
  t.false(expectsSuccess(probe({ connect: 'ok', received: '' })));
  t.false(expectsSuccess(probe({ connect: 'ok', received: 'HTTP/1.1 503 Service Unavailable\r\n\r\n' })));
  t.true(expectsSuccess(probe({ connect: 'ok', received: 'HTTP/1.1 200 OK\r\n\r\n' })));
});

const noSleep = () => Promise.resolve();

test('runWithRetry: retries an expected success until the judge accepts, and stops there', async (t) => {
  const results = ['closed', 'closed', 'ok', 'ok', 'ok'];
  let runs = 0;
  const slept: number[] = [];
  const retried: number[] = [];
  const r = await runWithRetry(
    () => Promise.resolve(results[runs++]!),
    (x) => x === 'ok',
    catalogProbe('redis-7000-modern', 'nc-7001'),
    {
      attempts: 5,
      delayMs: 750,
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
      onRetry: (_failed, attempt) => void retried.push(attempt),
    },
  );
  t.deepEqual(r, { result: 'ok', attempts: 3 });
  t.is(runs, 3);
  t.deepEqual(slept, [750, 750]);
  t.deepEqual(retried, [1, 2]);
});

test('runWithRetry: a first success runs once', async (t) => {
  let runs = 0;
  const r = await runWithRetry(
    () => Promise.resolve(++runs),
    () => true,
    catalogProbe('virtualservice-timeout', 'delay-1-succeeds'),
    { attempts: 3, delayMs: 10, sleep: noSleep },
  );
  t.deepEqual(r, { result: 1, attempts: 1 });
});

test('runWithRetry: an expected success that never passes returns the last result after `attempts` runs', async (t) => {
  let runs = 0;
  const r = await runWithRetry(
    () => Promise.resolve(`run ${++runs}`),
    () => false,
    catalogProbe('redis-7000-modern', 'nc-7000'),
    { attempts: 3, delayMs: 10, sleep: noSleep },
  );
  t.deepEqual(r, { result: 'run 3', attempts: 3 });
});

test('runWithRetry: an expected failure runs exactly once even when the judge rejects it', async (t) => {
  for (const [s, p] of [
    ['redis-7000-registry-only', 'nc-7001'],
    ['registry-only-http', 'curl-http-httpbin'],
    ['mysql-http-port-hang', 'mysql-external-hangs'],
  ] as const) {
    let runs = 0;
    let slept = 0;
    const r = await runWithRetry(
      () => Promise.resolve(++runs),
      () => false,
      catalogProbe(s, p),
      {
        attempts: 5,
        delayMs: 10,
        sleep: () => {
          slept++;
          return Promise.resolve();
        },
      },
    );
    t.deepEqual(r, { result: 1, attempts: 1 }, `${s}/${p}`);
    t.is(runs, 1);
    t.is(slept, 0);
  }
});

test('runWithRetry: an exception from run propagates at once', async (t) => {
  let runs = 0;
  const run = () => {
    runs++;
    return Promise.reject(new Error('kubectl: not found'));
  };
  await t.throwsAsync(
    runWithRetry(run, () => true, catalogProbe('redis-7000-modern', 'nc-7000'), { attempts: 3, delayMs: 10, sleep: noSleep }),
    { message: 'kubectl: not found' },
  );
  t.is(runs, 1);
});

/** The kind backend's command plan and probe commands, checked without a Docker engine. */
import test from 'ava';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { kindPlan, renderPlan } from '../../harness/kind/dryRun.ts';
import { kindSkipReason } from '../../harness/kind/kindBackend.ts';
import { decodeHex, greetingVersion, parseProbeOutput, probeCommand, resp } from '../../harness/kind/probeCommands.ts';
import { renderCommand } from '../../harness/kind/plan.ts';

test('the plan for redis-7000-modern: cluster, Istio, a Redis container on the kind network, manifests, gate, probes, teardown', (t) => {
  const plan = kindPlan(loadScenarioFile('redis-7000-modern'));
  const text = plan.commands.map(renderCommand);
  t.true(text.includes('kind create cluster --name egress-lab --config kind-config/cluster.yaml --wait 180s'), text.join('\n'));
  t.true(text.some((c) => c.startsWith('istioctl install --context kind-egress-lab -y')));
  t.true(text.some((c) => /^docker run -d --network kind .*redis:7\.4$/.test(c)));
  t.true(text.some((c) => c.startsWith('kubectl --context kind-egress-lab apply -f -')));
  t.regex(plan.manifests, /kind: Sidecar[\s\S]*mode: ALLOW_ANY/);
  t.deepEqual(plan.gates[0], { workload: 'sleep', listeners: ['0.0.0.0_7000'], clusters: ['outbound|7000||web-admin.ops.svc.cluster.local'], catchAll: 'PassthroughCluster' });
  const probes = text.filter((c) => c.includes(" exec -n dev-self '<sleep pod>' -c app -- sh -c "));
  t.is(probes.length, 3);
  t.true(probes[0]!.includes('nc -w 2'));
  t.true(probes[0]!.includes('172.18.0.10'), 'the lab address 10.0.0.6 is replaced by the container stand-in');
  t.true(text.some((c) => c.includes('nsenter -t $(crictl inspectp') && c.includes('conntrack -L')));
  t.true(text.at(-1)!.includes('delete namespace -l egress-lab.io/scenario=redis-7000-modern'));
  t.true(text.at(-2)!.includes('-A -l egress-lab.io/scenario=redis-7000-modern'));
  t.regex(renderPlan(plan), /^# addresses: .*10\.0\.0\.6 -> 172\.18\.0\.10/);
});

test('seed-era scenarios are skipped on kind with the reason', (t) => {
  const legacy = loadScenarioFile('redis-7000');
  t.regex(kindSkipReason(legacy) ?? '', /assumes Istio 1\.4 .* installs Istio 1\.30\.3/);
  t.throws(() => kindPlan(legacy), { message: /cannot run 1\.4-1\.6 behaviour/ });
  t.is(kindSkipReason(loadScenarioFile('virtualservice-timeout')), undefined);
});

test('probe commands: RESP for Redis, curl with a status trailer, socat for the MySQL greeting', (t) => {
  t.is(resp(['KEYS', '*']), '*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n');
  const redis = probeCommand({ kind: 'redis', host: '172.18.0.5', port: 7001, command: ['KEYS', '*'], timeoutMs: 3000 }, 'sleep-1', 'dev-self');
  t.deepEqual(redis.args.slice(0, 9), ['--context', 'kind-egress-lab', 'exec', '-n', 'dev-self', 'sleep-1', '-c', 'app', '--']);
  t.regex(redis.args.at(-1)!, /nc -w 3 '172\.18\.0\.5' 7001/);
  const http = probeCommand({ kind: 'http', url: 'http://httpbin.org/headers', method: 'GET', headers: {}, head: false, timeoutMs: 10000 }, 'p', 'default');
  t.regex(http.args.at(-1)!, /curl -sS -o \/dev\/null -D - --max-time 10 -X 'GET'/);
  const https = probeCommand({ kind: 'http', url: 'https://www.163.com/', method: 'GET', headers: {}, head: true, timeoutMs: 10000, caFile: '/tmp/egress-lab-ca.crt' }, 'p', 'default');
  t.regex(https.args.at(-1)!, /curl -sS -I --max-time 10 -X 'GET' +--cacert '\/tmp\/egress-lab-ca\.crt' /);
  const mysql = probeCommand({ kind: 'mysql', host: '172.18.0.7', port: 3306, user: 'lab', timeoutMs: 5000 }, 'p', 'default');
  t.regex(mysql.args.at(-1)!, /socat -T5 - TCP:172\.18\.0\.7:3306/);
});

test('probe output parsing: curl headers and status, Redis NOAUTH, raw bytes, the MySQL greeting', (t) => {
  const curl = 'HTTP/1.1 502 Bad Gateway\r\ndate: Sun, 22 Nov 2026 04:00:00 GMT\r\nserver: envoy\r\ncontent-length: 0\r\n\r\n\n502 0.004 41234\nEGL 0 0 120\n';
  const h = parseProbeOutput({ kind: 'http', url: 'http://httpbin.org/', method: 'GET', headers: {}, head: false, timeoutMs: 1000 }, curl, 5);
  t.is(h.exitCode, 0);
  t.is(h.httpStatus, 502);
  t.is(h.headers?.server, 'envoy');
  const failed = parseProbeOutput({ kind: 'http', url: 'https://www.baidu.com/', method: 'GET', headers: {}, head: true, timeoutMs: 1000 }, 'curl: (35) OpenSSL SSL_connect: Connection reset by peer\n000 0.003 0\nEGL 35 0 60\n', 5);
  t.is(failed.exitCode, 35);
  t.is(failed.errorClass, 'curl-35');
  t.is(failed.curlError, 'curl: (35) OpenSSL SSL_connect: Connection reset by peer');
  const redis = parseProbeOutput({ kind: 'redis', host: 'x', port: 7001, command: ['KEYS', '*'], timeoutMs: 1000 }, '-NOAUTH Authentication required.\r\nEGL 0 0 34\n', 5);
  t.is(redis.errorClass, 'reply-error');
  t.is(redis.error, 'NOAUTH Authentication required.');
  t.is(decodeHex(' 2d 4e 4f 41 55 54 48 20 41\n 0d 0a'), '-NOAUTH A\r\n');
  const tcp = parseProbeOutput({ kind: 'tcp', host: 'x', port: 7000, send: 'keys *\n', readTimeoutMs: 1500, connectTimeoutMs: 3000 }, ' 2d 4e 4f 0d 0a\nEGL 0 0 15\n', 5);
  t.is(tcp.received, '-NO\r\n');
  t.is(greetingVersion('J...5.5.5-10.11.19-MariaDB-0+deb12u1.....'), '5.5.5-10.11.19-MariaDB-0+deb12u1');
});

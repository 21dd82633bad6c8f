import test from 'ava';
import { readFileSync } from 'node:fs';
import {
  parseCrictlPods,
  parseDockerNetworkInspect,
  parseInspectpPid,
  parseIstioctlClusterTable,
  parseIstioctlListenerTable,
  parseKindGetClusters,
  parseKubectlExecExit,
  tableColumns,
} from '../../harness/kind/parsers.ts';
import { clusterTable, dumpClusters, dumpListeners, listenerTable, tabwrite } from '../../harness/views/proxyConfig.ts';
import { renderConfigDump } from '../../harness/model/envoyConfig.ts';
import { buildProxyConfig } from '../../harness/model/proxyConfig.ts';
import { loadScenarioFile } from '../../harness/scenario/load.ts';

const fixture = (f: string): string => readFileSync(new URL(`../fixtures/kind/${f}`, import.meta.url), 'utf8');

function dumpOf(name: string): unknown {
  const { scenario, istio } = loadScenarioFile(name);
  return renderConfigDump(buildProxyConfig(scenario, istio, scenario.workloads[0]!));
}

test('crictl pods -q: one sandbox id per line; nothing when no pod matches', (t) => {
  const a = '3f4e8d0c5b2a41e6a9d7c1b0f8e2d3c4b5a69788e7f6d5c4b3a2918273645566';
  const b = '0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9';
  t.deepEqual(parseCrictlPods(`${a}\n${b}\n`), [a, b]);
  t.deepEqual(parseCrictlPods(''), []);
  t.deepEqual(parseCrictlPods('\n'), []);
  t.deepEqual(parseCrictlPods(`time="2026-08-22T10:15:00Z" level=warning msg="runtime connect using default endpoints"\n${a}\n`), [a]);
});

test('crictl inspectp: .info.pid from a real-shaped sandbox JSON, as text or parsed', (t) => {
  const text = fixture('crictl-inspectp.json');
  t.is(parseInspectpPid(text), 48213);
  t.is(parseInspectpPid(JSON.parse(text)), 48213);
});

test('crictl inspectp: no info, pid 0 (sandbox not running) or not JSON throw with what was seen', (t) => {
  const doc = JSON.parse(fixture('crictl-inspectp.json'));
  t.throws(() => parseInspectpPid({ status: doc.status }), { message: /no "info" object/ });
  t.throws(() => parseInspectpPid({ ...doc, status: { ...doc.status, state: 'SANDBOX_NOTREADY' }, info: { ...doc.info, pid: 0 } }), {
    message: /\.info\.pid is 0.*SANDBOX_NOTREADY/,
  });
  t.throws(() => parseInspectpPid({ info: { pid: '48213' } }), { message: /not an integer/ });
  t.throws(() => parseInspectpPid('E0822 10:15:00 remote_runtime.go: "ContainerStatus from runtime service failed"'), {
    message: /not JSON/,
  });
});

test('kubectl exec: the remote exit code from stderr, undefined when it exited 0', (t) => {
  // seed 002's telnet and seed 003's curl -I.
  t.is(parseKubectlExecExit('Connection closed by foreign host\ncommand terminated with exit code 1\n'), 1);
  t.is(
    parseKubectlExecExit(
      'curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to www.baidu.com:443\ncommand terminated with exit code 35\n',
    ),
    35,
  );
  t.is(parseKubectlExecExit(''), undefined);
  t.is(parseKubectlExecExit('error: unable to upgrade connection: container not found ("app")\n'), undefined);
});

test('table columns come from the header, multi-word names kept whole', (t) => {
  t.deepEqual(tableColumns('ADDRESS       PORT MATCH DESTINATION'), [
    { name: 'ADDRESS', start: 0 },
    { name: 'PORT', start: 14 },
    { name: 'MATCH', start: 19 },
    { name: 'DESTINATION', start: 25 },
  ]);
  t.deepEqual(
    tableColumns('SERVICE FQDN     PORT     SUBSET     DIRECTION     TYPE     DESTINATION RULE').map((c) => c.name),
    ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'],
  );
});

test('istioctl listener table: seed 002, exactly as pasted', (t) => {
  t.deepEqual(parseIstioctlListenerTable(fixture('istioctl-listener-seed002.txt')), [
    { address: '0.0.0.0', port: 3306, match: 'ALL', destination: 'Cluster: outbound|3306||mysql.demo' },
    { address: '10.68.228.107', port: 3306, match: 'ALL', destination: 'Cluster: outbound|3306||mysql-server.demo1.svc.cluster.local' },
  ]);
});

test('istioctl listener table: seed 004, MATCH cells with spaces', (t) => {
  t.deepEqual(parseIstioctlListenerTable(fixture('istioctl-listener-seed004.txt')), [
    { address: '0.0.0.0', port: 80, match: 'App: HTTP', destination: 'Route: 80' },
    { address: '0.0.0.0', port: 80, match: 'ALL', destination: 'PassthroughCluster' },
    { address: '10.200.1.132', port: 80, match: 'App: HTTP', destination: 'Route: proxy.default.svc.cluster.local:80' },
    { address: '10.200.1.132', port: 80, match: 'ALL', destination: 'Cluster: outbound|80||proxy.default.svc.cluster.local' },
  ]);
  // Newer istioctl calls the first column ADDRESSES.
  const rows = parseIstioctlListenerTable('ADDRESSES PORT  MATCH DESTINATION\n0.0.0.0   15001 ALL   PassthroughCluster\n');
  t.deepEqual(rows, [{ address: '0.0.0.0', port: 15001, match: 'ALL', destination: 'PassthroughCluster' }]);
});

test('istioctl cluster table: seed 004, empty DESTINATION RULE cells and "-" columns', (t) => {
  const rows = parseIstioctlClusterTable(fixture('istioctl-cluster-seed004.txt'));
  t.is(rows.length, 33);
  t.deepEqual(rows[0], { serviceFqdn: 'BlackHoleCluster', type: 'STATIC', destinationRule: '', clusterName: 'BlackHoleCluster' });
  t.deepEqual(
    rows.find((r) => r.serviceFqdn === 'raw.githubusercontent.com'),
    {
      serviceFqdn: 'raw.githubusercontent.com',
      port: 443,
      direction: 'outbound',
      type: 'STRICT_DNS',
      destinationRule: 'github.default',
      clusterName: 'outbound|443||raw.githubusercontent.com',
    },
  );
  t.deepEqual(
    rows.filter((r) => r.serviceFqdn === 'webserver.default.svc.cluster.local').map((r) => [r.clusterName, r.destinationRule]),
    [
      ['outbound|80||webserver.default.svc.cluster.local', 'webserver.default'],
      ['inbound|80|http-web|webserver.default.svc.cluster.local', ''],
      ['outbound|80|v1|webserver.default.svc.cluster.local', 'webserver.default'],
      ['outbound|80|v2|webserver.default.svc.cluster.local', 'webserver.default'],
    ],
  );
  t.deepEqual(rows[rows.length - 1], { serviceFqdn: 'zipkin', type: 'STRICT_DNS', destinationRule: '', clusterName: 'zipkin' });
});

test('a table that is not the expected one is rejected with its header', (t) => {
  t.throws(() => parseIstioctlListenerTable('NAME     DOMAINS     MATCH     VIRTUAL SERVICE\n80       *           /*\n'), {
    message: /ADDRESS or ADDRESSES column.*NAME, DOMAINS, MATCH, VIRTUAL SERVICE/,
  });
  t.throws(() => parseIstioctlClusterTable('ADDRESS PORT MATCH DESTINATION\n'), { message: /SERVICE FQDN/ });
  t.throws(() => parseIstioctlListenerTable(''), { message: /empty table/ });
});

test("round trip: the views' rendered listener tables parse back to the dump's listeners and re-render identically", (t) => {
  for (const name of ['redis-7000-fix-serviceentry', 'mysql-3306-foreign-serviceentry', 'registry-only-fix-serviceentry']) {
    const dump = dumpOf(name);
    const text = listenerTable(dump);
    const rows = parseIstioctlListenerTable(text);
    const fromDump = [
      ...new Set(dumpListeners(dump).map((l: any) => `${l.address.socket_address.address}:${l.address.socket_address.port_value}`)),
    ].sort();
    t.deepEqual([...new Set(rows.map((r) => `${r.address}:${r.port}`))].sort(), fromDump, name);
    t.is(
      tabwrite([['ADDRESS', 'PORT', 'MATCH', 'DESTINATION'], ...rows.map((r) => [r.address, String(r.port), r.match, r.destination])], {
        padding: 1,
      }),
      text,
      name,
    );
  }
  const port3306 = parseIstioctlListenerTable(listenerTable(dumpOf('mysql-3306-foreign-serviceentry'), { port: 3306 }));
  t.deepEqual(port3306, parseIstioctlListenerTable(fixture('istioctl-listener-seed002.txt')), "the lab renders seed 002's table");
});

test("round trip: the views' rendered cluster tables give back every cluster name of the dump", (t) => {
  for (const name of ['redis-7000-fix-serviceentry', 'mysql-3306-foreign-serviceentry', 'registry-only-fix-serviceentry']) {
    const dump = dumpOf(name);
    const text = clusterTable(dump);
    const rows = parseIstioctlClusterTable(text);
    t.deepEqual(
      rows.map((r) => r.clusterName).sort(),
      dumpClusters(dump)
        .map((c) => String(c.name))
        .sort(),
      name,
    );
    const cells = rows.map((r) => [
      r.serviceFqdn,
      r.port === undefined ? '-' : String(r.port),
      r.subset ?? '-',
      r.direction ?? '-',
      r.type,
      r.destinationRule,
    ]);
    t.is(tabwrite([['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'], ...cells], { padding: 5 }), text, name);
  }
});

test('docker network inspect kind: subnets, the IPv4 one with its gateway, and the containers on it', (t) => {
  const net = parseDockerNetworkInspect(fixture('docker-network-inspect-kind.json'));
  t.is(net.name, 'kind');
  t.is(net.driver, 'bridge');
  t.deepEqual(net.subnets, [
    { subnet: '172.18.0.0/16', gateway: '172.18.0.1', family: 4 },
    { subnet: 'fc00:f853:ccd:e793::/64', gateway: 'fc00:f853:ccd:e793::1', family: 6 },
  ]);
  t.deepEqual(net.ipv4, { subnet: '172.18.0.0/16', gateway: '172.18.0.1', family: 4 });
  t.deepEqual(
    net.containers.map((c) => [c.name, c.ipv4, c.ipv6]),
    [
      ['egress-lab-control-plane', '172.18.0.2', 'fc00:f853:ccd:e793::2'],
      ['egl-redis-cluster-7001', '172.18.0.3', undefined],
    ],
  );
});

test('docker network inspect: IPv6 listed first, a missing gateway, and bad input', (t) => {
  const doc = JSON.parse(fixture('docker-network-inspect-kind.json'));
  doc[0].IPAM.Config = [{ Subnet: 'fc00:f853:ccd:e793::/64' }, { Subnet: '172.19.0.0/16' }];
  const net = parseDockerNetworkInspect(doc);
  t.deepEqual(net.ipv4, { subnet: '172.19.0.0/16', family: 4 });
  t.is(net.subnets[0]!.family, 6);
  t.throws(() => parseDockerNetworkInspect('[]'), { message: /expected one network, got 0/ });
  t.throws(() => parseDockerNetworkInspect('Error response from daemon: network kind not found'), { message: /not JSON/ });
});

test('kind get clusters: names on stdout; "No kind clusters found." on stderr means none', (t) => {
  t.deepEqual(parseKindGetClusters('egress-lab\nistio-testing\n'), ['egress-lab', 'istio-testing']);
  t.deepEqual(parseKindGetClusters('', 'No kind clusters found.\n'), []);
  t.deepEqual(parseKindGetClusters('No kind clusters found.\n'), [], 'streams merged with 2>&1');
  t.deepEqual(parseKindGetClusters('egress-lab\n', 'enabling experimental podman provider\n'), ['egress-lab']);
  t.throws(() => parseKindGetClusters('ERROR: failed to list clusters: command "docker ps" failed\n'), { message: /not a cluster name/ });
});

import test from 'ava';
import { explainCall, parseExplainOutput } from '../../harness/istio/explain.ts';
import { renderExplain } from '../../harness/report/explainText.ts';

test('--to with --sni is TLS, with --host HTTP with that Host header, else TCP', (t) => {
  t.deepEqual(explainCall('10.10.13.110:3306', {}), { address: '10.10.13.110', port: 3306, protocol: 'tcp', tls: false });
  t.deepEqual(explainCall('1.2.3.4:443', { sni: 'www.example.com' }), {
    address: '1.2.3.4',
    port: 443,
    protocol: 'tcp',
    tls: true,
    sni: 'www.example.com',
  });
  t.deepEqual(explainCall('1.2.3.4:80', { host: 'httpbin.org' }), {
    address: '1.2.3.4',
    port: 80,
    protocol: 'http',
    tls: false,
    hostHeader: 'httpbin.org',
  });
  t.deepEqual(explainCall('1.2.3.4:80', { protocol: 'http' }), { address: '1.2.3.4', port: 80, protocol: 'http', tls: false });
});

test('bad --to, --sni with --host, and --host over tcp are errors naming the option', (t) => {
  t.throws(() => explainCall('mysql.demo:3306', {}), { message: /--to mysql\.demo:3306: expected IP:PORT/ });
  t.throws(() => explainCall('1.2.3.4:0', {}), { message: /expected IP:PORT/ });
  t.throws(() => explainCall('1.2.3.4:70000', {}), { message: /expected IP:PORT/ });
  t.throws(() => explainCall('1.2.3.4:443', { sni: 'a', host: 'b' }), { message: /--sni and --host/ });
  t.throws(() => explainCall('1.2.3.4:80', { host: 'b', protocol: 'tcp' }), { message: /--host needs --protocol http/ });
});

const call = { address: '10.10.13.110', port: 3306, protocol: 'tcp' as const, tls: false };
const output = {
  dump: {
    node: 'sidecar~172.20.0.31~mysql-client.demo1~demo1.svc.cluster.local',
    istioVersion: '1.6',
    listeners: 3,
    clusters: 4,
    routes: 0,
    renamed: ['envoy.tcp_proxy -> envoy.filters.network.tcp_proxy'],
  },
  results: [
    {
      listener: '0.0.0.0_3306',
      cluster: 'outbound|3306||mysql.demo',
      listenerBy: 'no listener has 10.10.13.110:3306, and 0.0.0.0:3306 takes every other address on the port',
      clusterType: 'STRICT_DNS',
      endpoints: ['mysql.demo:3306'],
      clusterInDump: true,
    },
  ],
};

test("lab-istiod explain's JSON becomes an ExplainResult; a wrong count or shape is an error", (t) => {
  const r = parseExplainOutput(JSON.stringify(output), [call], 'd.json');
  t.deepEqual(r.explanations[0]!.match, { listener: '0.0.0.0_3306', cluster: 'outbound|3306||mysql.demo' });
  t.is(r.dump.istioVersion, '1.6');
  t.throws(() => parseExplainOutput(JSON.stringify(output), [call, call], 'd.json'), { message: /expected \{dump, results\[2\]\}/ });
  t.throws(() => parseExplainOutput('[]', [call], 'd.json'), { message: /expected \{dump, results\[1\]\}/ });
});

test('the text names the dump, who decided, each match and why', (t) => {
  const text = renderExplain(parseExplainOutput(JSON.stringify(output), [call], 'd.json'), 'istio.io/istio@v0');
  t.regex(
    text,
    /^config dump d\.json: sidecar~172\.20\.0\.31~mysql-client\.demo1~demo1\.svc\.cluster\.local, Istio 1\.6 \(3 listeners, 4 clusters, 0 route configs\)/,
  );
  t.regex(text, /Istio's traffic simulation \(pilot\/pkg\/simulation\) from istio\.io\/istio@v0/);
  t.regex(text, /10\.10\.13\.110:3306 \(TCP\)\n {2}listener +0\.0\.0\.0_3306\n +no listener has/);
  t.regex(text, /filter chain +\(unnamed\)\n +matches every connection/);
  t.regex(text, /cluster +outbound\|3306\|\|mysql\.demo\n +STRICT_DNS: mysql\.demo:3306/);
});

test('a route match, a virtual host, a cluster missing from the dump and a stop are shown', (t) => {
  const http = { address: '10.20.0.80', port: 80, protocol: 'http' as const, tls: false, hostHeader: 'web' };
  const r = parseExplainOutput(
    JSON.stringify({
      dump: { listeners: 1, clusters: 0, routes: 1 },
      results: [
        {
          listener: '0.0.0.0_80',
          routeConfig: '80',
          virtualHost: 'web:80',
          route: 'default',
          cluster: 'outbound|80||web',
          domains: ['web', 'web:80'],
          routeMatch: { prefix: '/' },
          clusterInDump: false,
        },
      ],
    }),
    [http],
    'h.json',
  );
  const text = renderExplain(r, 'x');
  t.regex(text, /Istio version not in the dump/);
  t.regex(text, /10\.20\.0\.80:80 \(HTTP, Host web\)/);
  t.regex(text, /virtual host +web:80\n +domains web, web:80/);
  t.regex(text, /route +default\n +match prefix "\/"/);
  t.regex(text, /not in the dump: Envoy answers "no cluster match" \(NC\)/);
});

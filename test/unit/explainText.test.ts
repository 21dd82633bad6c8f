/** explain's text: the dump, who decided, each match and why. */
import test from 'ava';
import { parseExplainOutput } from '../../harness/istio/explain.ts';
import { renderExplain } from '../../harness/report/explainText.ts';
import { call, output } from '../helpers/explainOutput.ts';

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

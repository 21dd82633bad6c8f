import test from 'ava';
import { explainCall, parseExplainOutput } from '../../harness/istio/explain.ts';
import { call, output } from '../helpers/explainOutput.ts';

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

test("lab-istiod explain's JSON becomes an ExplainResult; a wrong count or shape is an error", (t) => {
  const r = parseExplainOutput(JSON.stringify(output), [call], 'd.json');
  t.deepEqual(r.explanations[0]!.match, { listener: '0.0.0.0_3306', cluster: 'outbound|3306||mysql.demo' });
  t.is(r.dump.istioVersion, '1.6');
  t.throws(() => parseExplainOutput(JSON.stringify(output), [call, call], 'd.json'), { message: /expected \{dump, results\[2\]\}/ });
  t.throws(() => parseExplainOutput('[]', [call], 'd.json'), { message: /expected \{dump, results\[1\]\}/ });
});

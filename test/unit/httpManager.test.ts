/**
 * The sidecar's HTTP connection manager on real loopback sockets: the exact bytes of its local
 * replies (block_all 502, codec-error 400, 504 on a route timeout) and what it adds to requests it
 * forwards.
 */
import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { HttpConnectionManager } from '../../harness/sidecar/httpManager.ts';
import { StatsStore } from '../../harness/core/stats.ts';
import type { RouteConfig } from '../../harness/model/types.ts';
import type { IstioEra } from '../../harness/scenario/istioVersion.ts';

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/** A listener whose connections go to an HCM, as the sidecar's filter chain would hand them over. */
async function hcm(routes: RouteConfig[], era: IstioEra, upstreamPort = 1) {
  const stats = new StatsStore();
  const log: string[] = [];
  const manager = new HttpConnectionManager({
    era,
    stats,
    log: (l) => log.push(l),
    routes,
    pickHost: () => Promise.resolve({ address: '127.0.0.1', port: upstreamPort }),
  });
  const server = net.createServer({ pauseOnConnect: true }, (socket) =>
    manager.serve({
      socket,
      pending: Buffer.alloc(0),
      originalDst: { address: '10.0.0.1', port: 80 },
      statPrefix: 'outbound_0.0.0.0_80',
      routeConfigName: '80',
    }),
  );
  const port = await listen(server);
  return { port, stats, log, close: () => server.close() };
}

/** Sends raw bytes and collects everything until the peer closes or `quietMs` pass. */
function exchange(port: number, bytes: string, quietMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => c.write(bytes));
    let out = '';
    let timer = setTimeout(() => c.destroy(), quietMs);
    c.on('data', (d) => {
      out += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => c.destroy(), quietMs);
    });
    c.on('close', () => resolve(out));
    c.on('error', () => undefined);
  });
}

const blockAll: RouteConfig = {
  name: '80',
  virtualHosts: [{ name: 'block_all', domains: ['*'], routeName: 'block_all', action: { kind: 'direct_response', status: 502 } }],
};

test('block_all answers exactly a 502 with date, server: envoy and content-length 0', async (t) => {
  const h = await hcm([blockAll], 'modern');
  const out = await exchange(h.port, 'GET /headers HTTP/1.1\r\nHost: httpbin.org\r\n\r\n');
  t.regex(
    out,
    /^HTTP\/1\.1 502 Bad Gateway\r\ndate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\nserver: envoy\r\ncontent-length: 0\r\n\r\n$/,
  );
  t.is(h.stats.get('http.outbound_0.0.0.0_80;.rq_direct_response'), 1);
  t.is(h.stats.get('http.outbound_0.0.0.0_80;.downstream_rq_5xx'), 1);
  t.regex(h.log[0] ?? '', /"GET \/headers HTTP\/1\.1" 502 - direct_response .* "httpbin\.org" .* block_all$/);
  h.close();
});

test('non-HTTP bytes get the legacy 400 bytes in the 1.4 era', async (t) => {
  const h = await hcm([blockAll], 'legacy');
  t.is(await exchange(h.port, 'keys *\n'), 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  t.is(h.stats.get('http.outbound_0.0.0.0_80.downstream_cx_protocol_error'), 1);
  h.close();
});

test('non-HTTP bytes get the modern 400 with a body on 1.25+', async (t) => {
  const h = await hcm([blockAll], 'modern');
  const out = await exchange(h.port, 'keys *\r\n');
  t.true(out.startsWith('HTTP/1.1 400 Bad Request\r\ncontent-length: 11\r\ncontent-type: text/plain\r\n'), out);
  t.true(out.endsWith('server: envoy\r\nconnection: close\r\n\r\nBad Request'), out);
  h.close();
});

test('a routed request carries the decorator, request id and forwarded proto; a timeout gives 504 UT', async (t) => {
  const seen: http.IncomingHttpHeaders[] = [];
  const upstream = http.createServer((req, res) => {
    seen.push(req.headers);
    const delay = req.url === '/slow' ? 1500 : 0;
    setTimeout(() => res.end('ok'), delay);
  });
  const upPort = await listen(upstream);
  const routes: RouteConfig[] = [
    {
      name: '80',
      virtualHosts: [
        {
          name: 'httpbin.org:80',
          domains: ['httpbin.org'],
          routeName: 'default',
          decorator: 'httpbin.org:80/*',
          action: { kind: 'cluster', cluster: 'outbound|80||httpbin.org', timeoutMs: 500 },
        },
      ],
    },
  ];
  const h = await hcm(routes, 'modern', upPort);
  const fast = await exchange(h.port, 'GET /fast HTTP/1.1\r\nHost: httpbin.org\r\n\r\n');
  t.regex(fast, /^HTTP\/1\.1 200 OK\r\n/);
  t.regex(fast, /x-envoy-upstream-service-time: \d+/);
  t.is(seen[0]?.['x-envoy-decorator-operation'], 'httpbin.org:80/*');
  t.is(seen[0]?.['x-forwarded-proto'], 'http');
  t.is(seen[0]?.['x-envoy-expected-rq-timeout-ms'], '500');
  t.regex(String(seen[0]?.['x-request-id']), /^[0-9a-f-]{36}$/);
  const started = Date.now();
  const slow = await exchange(h.port, 'GET /slow HTTP/1.1\r\nHost: httpbin.org\r\n\r\n', 1500);
  t.true(Date.now() - started >= 500);
  t.regex(
    slow,
    /^HTTP\/1\.1 504 Gateway Timeout\r\ncontent-length: 24\r\ncontent-type: text\/plain\r\ndate: .*\r\nserver: envoy\r\n\r\nupstream request timeout$/,
  );
  t.is(h.stats.get('cluster.outbound|80||httpbin.org;.upstream_rq_timeout'), 1);
  t.regex(h.log.find((l) => l.includes('/slow')) ?? '', /" 504 UT response_timeout /);
  h.close();
  upstream.close();
});

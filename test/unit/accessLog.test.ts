import test from 'ava';
import { formatAccessLog, type AccessLogRecord } from '../../harness/model/accessLog.ts';

const START = new Date('2026-11-22T02:41:30.123Z');

// Lines in Istio's default TEXT format (pilot/pkg/model/telemetry_logging.go) for the three
// decisions the scenarios make, prefixed with the start time.
const BLACKHOLE_REF = '"- - -" 0 UH - - "-" 0 0 0 - "-" "-" "-" "-" "-" BlackHoleCluster - 1.2.3.4:9090 10.244.0.7:51234 - -';
const PASSTHROUGH_REF =
  '"- - -" 0 - - - "-" 12 34 5 - "-" "-" "-" "-" "1.2.3.4:9090" PassthroughCluster 10.244.0.7:4431 1.2.3.4:9090 10.244.0.7:51234 - -';
const HTTP_RO_REF =
  '"GET / HTTP/1.1" 502 - direct_response - "-" 0 0 0 - "-" "curl/8.x" "<id>" "example.com" "-" - - 93.184.215.14:80 10.244.0.7:40000 - block_all';

function tcp(extra: Partial<AccessLogRecord>): AccessLogRecord {
  return { startTime: START, responseCode: 0, responseFlags: [], bytesReceived: 0, bytesSent: 0, durationMs: 0, ...extra };
}

test("TCP blackhole line is Istio's default format", (t) => {
  const line = formatAccessLog(
    tcp({
      responseFlags: ['UH'],
      upstreamCluster: 'BlackHoleCluster',
      downstreamLocalAddress: '1.2.3.4:9090',
      downstreamRemoteAddress: '10.244.0.7:51234',
    }),
  );
  t.is(line, `[2026-11-22T02:41:30.123Z] ${BLACKHOLE_REF}`);
});

test("TCP passthrough line is Istio's default format", (t) => {
  const line = formatAccessLog(
    tcp({
      bytesReceived: 12,
      bytesSent: 34,
      durationMs: 5,
      upstreamHost: '1.2.3.4:9090',
      upstreamCluster: 'PassthroughCluster',
      upstreamLocalAddress: '10.244.0.7:4431',
      downstreamLocalAddress: '1.2.3.4:9090',
      downstreamRemoteAddress: '10.244.0.7:51234',
    }),
  );
  t.is(line, `[2026-11-22T02:41:30.123Z] ${PASSTHROUGH_REF}`);
});

test("HTTP block_all line is Istio's default format", (t) => {
  const line = formatAccessLog({
    startTime: START,
    method: 'GET',
    path: '/',
    protocol: 'HTTP/1.1',
    responseCode: 502,
    responseFlags: [],
    responseCodeDetails: 'direct_response',
    bytesReceived: 0,
    bytesSent: 0,
    durationMs: 0,
    userAgent: 'curl/8.x',
    requestId: '<id>',
    authority: 'example.com',
    downstreamLocalAddress: '93.184.215.14:80',
    downstreamRemoteAddress: '10.244.0.7:40000',
    routeName: 'block_all',
  });
  t.is(line, `[2026-11-22T02:41:30.123Z] ${HTTP_RO_REF}`);
});

test('every line has 22 space-separated fields outside quotes', (t) => {
  const fields = (line: string): string[] => line.match(/"[^"]*"|\S+/g) ?? [];
  t.is(fields(formatAccessLog(tcp({}))).length, 22);
  t.is(fields(`[x] ${BLACKHOLE_REF}`).length, 22);
});

test('multiple flags join with commas; upstream service time and fractional duration', (t) => {
  const line = formatAccessLog(
    tcp({
      responseFlags: ['UF', 'URX'],
      durationMs: 12.9,
      upstreamServiceTime: 7,
      upstreamTransportFailureReason: 'delayed_connect_error:_111',
    }),
  );
  t.is(line, '[2026-11-22T02:41:30.123Z] "- - -" 0 UF,URX - - "delayed_connect_error:_111" 0 0 12 7 "-" "-" "-" "-" "-" - - - - - -');
});

test('start time is UTC with milliseconds', (t) => {
  const line = formatAccessLog(tcp({ startTime: new Date(Date.UTC(2020, 0, 2, 3, 4, 5, 6)) }));
  t.true(line.startsWith('[2020-01-02T03:04:05.006Z] '));
});

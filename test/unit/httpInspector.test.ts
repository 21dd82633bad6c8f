import test from 'ava';
import { MAX_INSPECT_SIZE, inspectHttp, isHttp11RequestLine } from '../../harness/model/httpInspector.ts';
import { HTTP_INSPECTOR_CASES } from '../fixtures/httpInspectorCases.ts';

const b = (s: string) => Buffer.from(s, 'latin1');
const H2C_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

// ---------------------------------------------------------------- inspectHttp

for (const c of HTTP_INSPECTOR_CASES) {
  test(`inspectHttp agrees with Envoy 1.40.0 on ${JSON.stringify(c.input)}: ${c.verdict} (${c.why})`, (t) => {
    t.is(inspectHttp(b(c.input)), c.verdict);
  });
}

test('inspectHttp: a prefix of the h2c preface waits', (t) => {
  t.is(inspectHttp(b('PRI * HTTP/2.0\r\n')), 'need-more');
  t.is(inspectHttp(b('PRI')), 'need-more');
  t.is(inspectHttp(b(`${H2C_PREFACE}\x00\x00\x12\x04`)), 'h2c', 'preface followed by a SETTINGS frame');
});

test('inspectHttp: 64 KiB without a line end is not HTTP; just under it still waits', (t) => {
  const head = 'GET /';
  t.is(inspectHttp(b(head + 'a'.repeat(MAX_INSPECT_SIZE - head.length))), 'not-http');
  t.is(inspectHttp(b(head + 'a'.repeat(MAX_INSPECT_SIZE - head.length - 1))), 'need-more');
});

test('isHttp11RequestLine: METHOD SP target SP HTTP/1.1, any token as method', (t) => {
  t.true(isHttp11RequestLine('GET / HTTP/1.1'));
  t.true(isHttp11RequestLine('M-SEARCH * HTTP/1.1'));
  t.true(isHttp11RequestLine('FOO / HTTP/1.1'));
  t.false(isHttp11RequestLine('GET / HTTP/1.0'));
  t.false(isHttp11RequestLine('GET /'));
});

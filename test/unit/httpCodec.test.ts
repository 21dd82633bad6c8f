/** The model sidecar's HTTP replies: the seed era's 400 byte for byte, and current Envoy's Bad Request. */
import test from 'ava';
import { LEGACY_400, badRequest } from '../../harness/sidecar/httpCodec.ts';

const NOW = new Date('2026-08-22T10:11:12Z');

test('LEGACY_400 is exactly the seed-000 reply', (t) => {
  t.is(LEGACY_400, 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  t.is(badRequest('legacy', NOW), LEGACY_400);
});

test('modern badRequest: content-length 11, text/plain, date, server: envoy, connection: close, body "Bad Request"', (t) => {
  const reply = badRequest('modern', NOW);
  const [head, body] = reply.split('\r\n\r\n');
  t.is(body, 'Bad Request');
  t.is(Buffer.byteLength(body!), 11);
  const lines = head!.split('\r\n');
  t.is(lines[0], 'HTTP/1.1 400 Bad Request');
  t.deepEqual(lines.slice(1), [
    'content-length: 11',
    'content-type: text/plain',
    `date: ${NOW.toUTCString()}`,
    'server: envoy',
    'connection: close',
  ]);
});

test('modern badRequest uses the given time in RFC 1123 form', (t) => {
  t.true(badRequest('modern', NOW).includes('date: Sat, 22 Aug 2026 10:11:12 GMT\r\n'));
});

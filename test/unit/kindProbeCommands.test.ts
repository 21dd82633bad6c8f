/**
 * The kind probe scripts and their parsers, on outputs the real scripts printed (Debian's socat
 * 1.7.4 against loopback servers in a throwaway network namespace: test/fixtures/kind/shell/).
 * The whole scripts run against the lab's servers in test/lab/kindCommandsInLab.test.ts.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseShellOutput, parseSocatLog } from '../../harness/probes/shell.ts';
import { parseProbeOutput, probeShellArgv, randomSourcePort } from '../../harness/kind/probeCommands.ts';
import { curlArgs } from '../../harness/probes/http.ts';
import type { ProbeSpec } from '../../harness/probes/registry.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../fixtures/kind/shell', `${name}.out`), 'latin1');
const tcp = (over: Partial<Extract<ProbeSpec, { kind: 'tcp' }>> = {}): ProbeSpec => ({
  kind: 'tcp',
  host: '127.0.0.1',
  port: 7101,
  send: 'PING\r\n',
  readTimeoutMs: 1000,
  connectTimeoutMs: 1000,
  ...over,
});
const redis: ProbeSpec = { kind: 'redis', host: '127.0.0.1', port: 7101, command: ['PING'], timeoutMs: 1000 };
const mysql: ProbeSpec = { kind: 'mysql', host: '127.0.0.1', port: 3306, user: 'lab', timeoutMs: 1000 };

test('the trailer reports the source port the script bound, 0 when it never connected', (t) => {
  t.is(parseShellOutput(fixture('eof-after-reply')).localPort, 45001);
  t.is(parseProbeOutput(tcp(), fixture('eof-after-reply'), 5).localPort, 45001);
  t.is(parseShellOutput(fixture('refused')).localPort, 0);
  t.is(parseProbeOutput(tcp(), fixture('refused'), 5).localPort, undefined);
  const port = randomSourcePort();
  t.true(port >= 32768 && port <= 60999);
  t.regex(probeShellArgv(tcp(), 41000)[2]!, /sourceport=41000/);
});

test('a silent open connection is idle, not eof; a close is eof; a RST is reset', (t) => {
  const silent = parseProbeOutput(tcp({ send: '' }), fixture('idle-silent'), 5);
  t.like(silent, { connect: 'ok', end: 'idle', errorClass: 'timeout', receivedBytes: 0 });
  const replied = parseProbeOutput(tcp(), fixture('idle-after-reply'), 5);
  t.like(replied, { end: 'idle', errorClass: 'none', received: '+PONG\r\n' });
  const closed = parseProbeOutput(tcp(), fixture('eof-after-reply'), 5);
  t.like(closed, { end: 'eof', errorClass: 'eof', received: '-NOAUTH Authentication required.\r\n', address: '127.0.0.1' });
  const reset = parseProbeOutput(tcp(), fixture('reset'), 5);
  t.like(reset, { end: 'reset', errorClass: 'reset', receivedBytes: 0 });
  t.like(parseProbeOutput(tcp(), fixture('refused'), 5), { connect: 'refused', end: 'not-connected', errorClass: 'refused' });
});

test('socat log lines: connect failures by errno, name lookups, the first terminal event', (t) => {
  const line = (l: string) => `2026/12/03 07:51:45 socat[21018] ${l}`;
  t.like(
    parseSocatLog(
      [line('N opening connection to AF=2 10.77.0.9:80'), line('E connect(5, AF=2 10.77.0.9:80, 16): Network is unreachable')].join('\n'),
    ),
    { connect: 'unreachable', code: 'ENETUNREACH', address: '10.77.0.9' },
  );
  t.like(parseSocatLog(line('E connect(5, AF=2 10.77.0.9:80, 16): Connection timed out')), { connect: 'timeout' });
  t.like(parseSocatLog(line('E getaddrinfo("nonexistent.invalid", "NULL", {1,0,1,6}, {}): Temporary failure in name resolution')), {
    connect: 'error',
    end: 'not-connected',
  });
  const eofThenReset = [
    line('N starting data transfer loop with FDs [0,1] and [5,5]'),
    line('N socket 2 (fd 5) is at EOF'),
    line('W read(5, 0x1, 8192): Connection reset by peer'),
  ].join('\n');
  t.is(parseSocatLog(eofThenReset).end, 'eof');
  // socat's own stdin reaching EOF is not the end of the exchange.
  t.is(
    parseSocatLog(
      [
        line('N starting data transfer loop with FDs [0,1] and [5,5]'),
        line('N socket 1 (fd 0) is at EOF'),
        line('N inactivity timeout triggered'),
      ].join('\n'),
    ).end,
    'idle',
  );
});

test('redis: the RESP reply read as ioredis would report it', (t) => {
  t.like(parseProbeOutput(redis, fixture('eof-after-reply'), 5), {
    errorClass: 'reply-error',
    error: 'NOAUTH Authentication required.',
    end: 'eof',
  });
  t.like(parseProbeOutput(redis, fixture('idle-after-reply'), 5), { errorClass: 'none', reply: 'PONG', end: 'idle' });
  t.like(parseProbeOutput(redis, fixture('idle-silent'), 5), { errorClass: 'timeout' });
  t.like(parseProbeOutput(redis, fixture('reset'), 5), { errorClass: 'reset' });
  const http400 = fixture('eof-after-reply').replace(
    /EGL-DATA\n[\s\S]*?EGL-LOG/,
    `EGL-DATA\n${[...Buffer.from('HTTP/1.1 400 Bad Request\r\n')].map((b) => b.toString(16).padStart(2, '0')).join(' ')}\nEGL-LOG`,
  );
  t.like(parseProbeOutput(redis, http400, 5), { errorClass: 'protocol' });
  const withPassword = { ...redis, password: 'x' } as ProbeSpec;
  t.regex(probeShellArgv(withPassword, 40000)[2]!, /\*2\r\n\$4\r\nAUTH\r\n\$1\r\nx\r\n\*1\r\n\$4\r\nPING\r\n/);
});

test('mysql: socat sends nothing and never half-closes, so a server that waits for the client is a hang', (t) => {
  const script = probeShellArgv(mysql, 40000)[2]!;
  t.notRegex(script, /<\/dev\/null/);
  t.regex(script, /printf %s '' \| socat -d -d -T 1 STDIO,ignoreeof/);
  t.like(parseProbeOutput(mysql, fixture('idle-silent'), 5), { connect: 'ok', end: 'idle', errorClass: 'timeout' });
  const greeting = Buffer.concat([Buffer.from([0x2a, 0, 0, 0, 0x0a]), Buffer.from('5.5.5-10.11.19-MariaDB\0'), Buffer.alloc(20, 1)]);
  const out = fixture('idle-after-reply').replace(
    /EGL-DATA\n[\s\S]*?EGL-LOG/,
    `EGL-DATA\n${[...greeting].map((b) => b.toString(16).padStart(2, '0')).join(' ')}\nEGL-LOG`,
  );
  t.like(parseProbeOutput(mysql, out, 5), { errorClass: 'none', serverVersion: '5.5.5-10.11.19-MariaDB' });
});

test("http: the lab agent's own curl command line, and the body comes back", (t) => {
  const spec: ProbeSpec = { kind: 'http', url: 'http://httpbin.org/headers', method: 'GET', headers: {}, head: false, timeoutMs: 2000 };
  const script = probeShellArgv(spec, 0)[2]!;
  t.true(
    script.includes(
      `curl ${curlArgs(spec, 'body', 'headers')
        .map((a) => `'${a}'`)
        .join(' ')}`,
    ),
    script,
  );
  const hex = (s: string) => [...Buffer.from(s)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const out = [
    'EGL-WRITEOUT',
    '200 0.004 41234 10.20.0.80',
    `EGL-STDERR\n${hex('* Connected to httpbin.org (10.20.0.80) port 80\n')}`,
    `EGL-HEADERS\n${hex('HTTP/1.1 200 OK\r\nserver: envoy\r\ncontent-length: 14\r\n\r\n')}`,
    `EGL-BODY\n${hex('{"headers":{}}')}`,
    'EGL 0 41234 70',
  ].join('\n');
  t.like(parseProbeOutput(spec, `${out}\n`, 5), {
    httpStatus: 200,
    body: '{"headers":{}}',
    localPort: 41234,
    end: 'eof',
    errorClass: 'none',
    address: '10.20.0.80',
  });
});

test('http HEAD: curl -I alone (with -X GET curl would send GET)', (t) => {
  const head: ProbeSpec = { kind: 'http', url: 'https://www.baidu.com/', method: 'GET', headers: {}, head: true, timeoutMs: 2000 };
  const args = curlArgs(head, 'b', 'h');
  t.true(args.includes('-I'));
  t.false(args.includes('-X'));
  const get = curlArgs({ ...head, head: false }, 'b', 'h');
  t.deepEqual(get.slice(get.indexOf('-X'), get.indexOf('-X') + 2), ['-X', 'GET']);
});

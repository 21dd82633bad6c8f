/** The ClientHello parser on what openssl s_client really sends (with and without SNI). */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { parseClientHello } from '../../harness/sidecar/clientHello.ts';
import { captureFirstRecord } from '../helpers/clientHello.ts';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

function opensslHello(args: string[]): Promise<Buffer> {
  return captureFirstRecord((port) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => {});
    // Only this child, by its own handle, and only if the hang-up did not end it already.
    return () => {
      if (child.exitCode === null) child.kill();
    };
  });
}

test('openssl s_client -servername x -alpn h2,http/1.1', async (t) => {
  if (!hasOpenssl) return t.fail('openssl is not installed (apt-get install openssl)');
  const hello = await opensslHello(['-servername', 'x', '-alpn', 'h2,http/1.1']);
  t.deepEqual(parseClientHello(hello), { kind: 'tls', serverName: 'x', alpn: ['h2', 'http/1.1'] });
});

test('openssl s_client -noservername: TLS without SNI', async (t) => {
  if (!hasOpenssl) return t.fail('openssl is not installed (apt-get install openssl)');
  const hello = await opensslHello(['-noservername']);
  const result = parseClientHello(hello);
  t.is(result.kind, 'tls');
  t.false('serverName' in result);
});

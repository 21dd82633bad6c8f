// The lab's httpbin handler, in-process.
import test from 'ava';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { createHttpbinHandler, titleCase } from '../../harness/servers/httpbin.ts';

test('the handler works in-process and title-cases like Python str.title()', async (t) => {
  t.is(titleCase('x-b3-traceid'), 'X-B3-Traceid');
  t.is(titleCase('USER-AGENT'), 'User-Agent');
  const logged: string[] = [];
  const server: Server = createServer(createHttpbinHandler({ name: 'in-process', log: (l) => logged.push(l) })).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/headers?show_env=1`, { headers: { 'x-request-id': 'abc' } });
  const body = (await res.json()) as { headers: Record<string, string> };
  server.close();
  t.is(res.headers.get('server'), 'egress-lab-httpbin');
  t.is(body.headers['X-Request-Id'], 'abc');
  t.is(logged.length, 1);
});

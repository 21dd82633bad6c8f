// The probe agent as the lab runs it (minus netns and setpriv), talking JSON lines: tcp, redis and http probes.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import type { AgentResponse } from '../../harness/probes/wire.ts';
import {
  servers,
  listen,
  closedPort,
  onFirstData,
  tcp,
  redis,
  closers,
  listenOn,
  handler,
  seenPorts,
  httpSpec,
} from '../helpers/probePeers.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

let httpPort = 0;

test.before(async () => {
  httpPort = await listenOn(http.createServer(handler));
});

test.after.always(() => {
  for (const server of servers) server.close();
  for (const close of closers) close();
});

/** Spawn the agent like the lab does (minus netns/setpriv) and talk JSON lines to it. */
function startAgent(): { child: ChildProcess; next: () => Promise<unknown>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'harness/probes/agent.ts'], { cwd: repoRoot, stdio: 'pipe' });
  let err = '';
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<unknown> => {
    const line = await lines.next();
    if (line.done) throw new Error(`agent stdout closed; stderr: ${err}`);
    return JSON.parse(line.value);
  };
  return { child, next, stderr: () => err };
}

test('agent: ready line, a tcp probe, bad requests, exit on stdin close', async (t) => {
  const port = await listen((s) => onFirstData(s, () => s.end('bye\n')));
  const refused = await closedPort();
  const agent = startAgent();
  t.teardown(() => {
    if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
  });
  const write = (line: string): void => {
    agent.child.stdin!.write(`${line}\n`);
  };

  t.deepEqual(await agent.next(), { ready: true });
  write(JSON.stringify({ id: 1, probe: tcp(port) }));
  const first = (await agent.next()) as { id: number; result: { received: string; end: string; localPort: number } };
  t.is(first.id, 1);
  t.is(first.result.received, 'bye\n');
  t.is(first.result.end, 'eof');
  t.true(first.result.localPort > 0);

  write('not json');
  t.like(await agent.next(), { id: -1 });
  write(JSON.stringify({ id: 2, probe: { kind: 'udp', host: 'x', port: 1 } }));
  const bad = (await agent.next()) as { id: number; error: string };
  t.is(bad.id, 2);
  t.regex(bad.error, /bad request/);
  // A failing redis probe must not leak ioredis' "Unhandled error event" noise.
  write(JSON.stringify({ id: 3, probe: redis(refused) }));
  t.like(await agent.next(), { id: 3, result: { errorClass: 'refused' } });

  agent.child.stdin!.end();
  const [code] = (await once(agent.child, 'exit')) as [number | null, NodeJS.Signals | null];
  t.is(code, 0);
  t.is(agent.stderr(), '');
});

test('agent process: http probe answered in order; a non-http URL is rejected by validation', async (t) => {
  const agent = spawn(process.execPath, ['--import', 'tsx', 'harness/probes/agent.ts'], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: agent.stdout })[Symbol.asyncIterator]();
    t.deepEqual(JSON.parse((await lines.next()).value as string), { ready: true });
    const probe = httpSpec(`http://127.0.0.1:${httpPort}/`, { headers: { 'X-Probe': 'via-agent', 'X-Req': 'agent' } });
    agent.stdin.write(`${JSON.stringify({ id: 7, probe })}\n`);
    agent.stdin.write(`${JSON.stringify({ id: 8, probe: { ...probe, url: 'file:///etc/passwd' } })}\n`);
    const first = JSON.parse((await lines.next()).value as string) as AgentResponse;
    const second = JSON.parse((await lines.next()).value as string) as AgentResponse;
    if (!('result' in first)) return t.fail(`agent error: ${first.error}`);
    t.is(first.id, 7);
    t.is(first.result.httpStatus, 200);
    t.is(first.result.headers?.['x-echo'], 'via-agent');
    t.is(first.result.localPort, seenPorts.get('agent'));
    t.is(second.id, 8);
    t.true('error' in second && second.error.startsWith('bad request:') && second.error.includes('http:// or https://'));
  } finally {
    agent.stdin.end();
    if (agent.exitCode === null) await once(agent, 'exit');
  }
});

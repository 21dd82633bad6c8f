/**
 * Input that used to pass validation and fail at run time, or fail with a weak message: each is
 * now refused by the loader with the file, the line and the reason, before anything is created.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, ScenarioError } from '../../harness/scenario/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'egress-lab-bad-'));

function file(name: string, body: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

/** A valid scenario with the given workloads and external servers blocks. */
function scenario(workloads: string, servers = ''): string {
  return `name: bad
description: bad input
istio: "1.30"
workloads:
${workloads}
${servers ? `externalServers:\n${servers}\n` : ''}probes:
  - { name: p, from: sleep, tcp: { host: 10.0.0.6, port: 7000 }, expect: {} }
`;
}
const SLEEP = '  - { name: sleep, ip: 10.64.192.14 }';

function refused(t: import('ava').ExecutionContext, path: string, line: RegExp, why: RegExp): void {
  const err = t.throws(() => loadScenarioFile(path), { instanceOf: ScenarioError });
  t.regex(err.message, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}${line.source}`), err.message);
  t.regex(err.message, why);
}

test('a pod IP that is the pod network address or its broadcast address', (t) => {
  refused(
    t,
    file('net.yaml', scenario('  - { name: sleep, ip: 10.64.192.0 }')),
    /:5: workloads\[0\]\.ip/,
    /the network address of 10\.64\.192\.0\/24/,
  );
  refused(
    t,
    file('bcast.yaml', scenario('  - { name: sleep, ip: 10.64.192.255 }')),
    /:5: workloads\[0\]\.ip/,
    /the broadcast address of 10\.64\.192\.0\/24/,
  );
});

test('an external server on a loopback or broadcast address', (t) => {
  refused(
    t,
    file('lo.yaml', scenario(SLEEP, '  - { name: r, kind: redis, addresses: [127.0.0.1], ports: [7000] }')),
    /:7: externalServers\[0\]\.addresses\[0\]/,
    /loopback/,
  );
  refused(
    t,
    file('b.yaml', scenario(SLEEP, '  - { name: r, kind: redis, addresses: [10.0.0.255], ports: [7000] }')),
    /:7: externalServers\[0\]\.addresses\[0\]/,
    /broadcast address of 10\.0\.0\.0\/24/,
  );
});

test('external addresses outside one /24', (t) => {
  refused(
    t,
    file('split.yaml', scenario(SLEEP, '  - { name: r, kind: redis, addresses: [10.0.0.6, 10.0.1.6], ports: [7000] }')),
    /:7: externalServers\[0\]\.addresses\[1\]/,
    /same \/24 as 10\.0\.0\.6/,
  );
});

test('two external servers on one address and port', (t) => {
  const servers = [
    '  - { name: a, kind: redis, addresses: [10.0.0.6], ports: [7000] }',
    '  - { name: b, kind: http, addresses: [10.0.0.6], ports: [7000] }',
  ].join('\n');
  refused(
    t,
    file('dup.yaml', scenario(SLEEP, servers)),
    /:8: externalServers\[1\]\.ports/,
    /10\.0\.0\.6:7000 is also served by external server "a"/,
  );
});

test('binary input is refused without being echoed back', (t) => {
  const blob = Buffer.alloc(5 * 1024 * 1024, 0x41);
  blob[100] = 0;
  const err = t.throws(() => loadScenarioFile(file('blob.yaml', blob)));
  t.regex(err.message, /blob\.yaml.*too large for a scenario/s);
  t.true(err.message.length < 500, `message of ${err.message.length} characters`);
  const small = Buffer.from('name: x\0\0\0binary');
  t.regex(t.throws(() => loadScenarioFile(file('nul.yaml', small))).message, /nul\.yaml.*is binary/s);
});

test('a YAML alias bomb is stopped and named', (t) => {
  const bomb = [
    'a: &a ["x","x","x","x","x","x","x","x","x"]',
    ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
  ].join('\n');
  const err = t.throws(() => loadScenarioFile(file('bomb.yaml', bomb)), { instanceOf: ScenarioError });
  t.regex(err.message, /bomb\.yaml.*YAML: .*alias/is);
});

test('a directory is named as one', (t) => {
  const d = join(dir, 'a-directory.yaml');
  mkdirSync(d, { recursive: true });
  t.regex(
    t.throws(() => loadScenarioFile(d), { instanceOf: ScenarioError }).message,
    /a-directory\.yaml.*is a directory; expected a scenario YAML file/s,
  );
});

test('an unclosed flow map is reported on the line it opens', (t) => {
  const text = 'name: x\ndescription: d\nistio: "1.30"\nworkloads:\n  - { name: a, ip: 10.64.192.2\nprobes: []\n';
  refused(t, file('flow.yaml', text), /:5: /, /Flow map/);
});

test('a relative path is relative to where the command was started (INIT_CWD under npm run)', (t) => {
  const sub = join(dir, 'sub');
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, 'here.yaml'), 'name: [broken');
  const saved = process.env.INIT_CWD;
  process.env.INIT_CWD = sub;
  try {
    t.regex(t.throws(() => loadScenarioFile('here.yaml')).message, new RegExp(`${sub}/here\\.yaml`));
  } finally {
    if (saved === undefined) delete process.env.INIT_CWD;
    else process.env.INIT_CWD = saved;
  }
});

import test from 'ava';
import { blockOf } from '../helpers/probes.ts';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SCENARIO_DIR, ScenarioError, loadScenarioFile, parseScenario, resolveScenarioPath } from '../../harness/scenario/load.ts';

const FILE = 'inline.yaml';

/** A valid scenario; `over` replaces whole top-level blocks by key. */
function yaml(over: Partial<Record<'head' | 'lab' | 'workloads' | 'mesh' | 'externalServers' | 'probes', string>> = {}): string {
  const blocks = {
    head: 'name: inline\ndescription: unit test\nistio: "1.30"',
    lab: '',
    workloads: 'workloads:\n  - name: sleep\n    ip: 10.64.192.14',
    mesh: '',
    externalServers: '',
    probes: 'probes:\n  - name: p\n    from: sleep\n    tcp: { host: 10.0.0.6, port: 7000 }\n    expect: {}',
    ...over,
  };
  return `${Object.values(blocks).filter(Boolean).join('\n')}\n`;
}

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string, nth = 0): number {
  const idx = text.split('\n').flatMap((l, i) => (l.includes(needle) ? [i + 1] : []))[nth];
  if (idx === undefined) throw new Error(`"${needle}" not in the text`);
  return idx;
}

function fails(t: import('ava').ExecutionContext, text: string): ScenarioError {
  const err = t.throws(() => parseScenario(text, FILE), { instanceOf: ScenarioError });
  return err;
}

/** The message has "<file>:<line>: <path>: …<expected>…" on one line. */
function assertIssue(t: import('ava').ExecutionContext, err: ScenarioError, path: string, line: number, expected: RegExp | string): void {
  const want = `${FILE}:${line}: ${path}: `;
  const row = err.message.split('\n').find((l) => l.includes(want));
  t.truthy(row, `no line with "${want}" in:\n${err.message}`);
  if (!row) return;
  if (typeof expected === 'string') t.true(row.includes(expected), `"${expected}" not in: ${row}`);
  else t.regex(row, expected);
  t.true(
    err.issues.some((i) => i.path === path && i.line === line),
    JSON.stringify(err.issues),
  );
}

// ---------------------------------------------------------------- the catalog

const catalog = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

test('the scenarios/ catalog is not empty', (t) => {
  t.true(catalog.length >= 6, catalog.join(', '));
});

for (const f of catalog) {
  test(`scenarios/${f} loads; its name matches the file and its Istio version is modelled`, (t) => {
    const loaded = loadScenarioFile(join(SCENARIO_DIR, f));
    t.is(loaded.scenario.name, basename(f, '.yaml'));
    t.is(loaded.file, join(SCENARIO_DIR, f));
    t.true(['legacy', 'modern'].includes(loaded.istio.era));
    t.true(loaded.scenario.probes.length > 0);
  });
}

test('loadScenarioFile accepts a bare scenario name and the era follows the version', (t) => {
  t.is(loadScenarioFile('redis-7000').istio.era, 'legacy');
  t.is(loadScenarioFile('redis-7000-modern').istio.era, 'modern');
  t.is(resolveScenarioPath('redis-7000'), join(SCENARIO_DIR, 'redis-7000.yaml'));
});

test('loadScenarioFile: an unknown name says where it looked', (t) => {
  t.throws(() => loadScenarioFile('no-such-scenario'), { message: /no scenario "no-such-scenario".*scenarios\/no-such-scenario\.yaml/ });
});

test('loadScenarioFile: a bad file on disk is reported with its own path', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egl-unit-'));
  try {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, yaml({ head: 'name: broken\ndescription: d\nistio: "1.12"' }));
    const err = t.throws(() => loadScenarioFile(file), { instanceOf: ScenarioError });
    t.is(err.file, file);
    t.true(err.message.startsWith(`${file}: invalid scenario`));
    t.true(err.message.includes(`${file}:3: istio: `));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('defaults are filled in: namespace default, sidecar true, ALLOW_ANY, pod CIDR 10.64.192.0/24', (t) => {
  const { scenario } = parseScenario(yaml(), FILE);
  t.is(scenario.workloads[0]!.namespace, 'default');
  t.true(scenario.workloads[0]!.sidecar);
  t.is(scenario.mesh.outboundTrafficPolicy, 'ALLOW_ANY');
  t.is(scenario.lab.podCIDR, '10.64.192.0/24');
  t.is(blockOf(scenario.probes[0]!, 'tcp').readTimeoutMs, 1500);
  t.is(scenario.probes[0]!.expect.basis, 'observed');
});

// ---------------------------------------------------------------- bad input

test('unknown field workloads[0].sidecars: named, on its own line, with what is wrong', (t) => {
  const text = yaml({ workloads: 'workloads:\n  - name: sleep\n    ip: 10.64.192.14\n    sidecars: true' });
  const err = fails(t, text);
  assertIssue(t, err, 'workloads[0]', lineOf(text, 'sidecars:'), 'unknown field(s) "sidecars"');
  t.true(err.message.startsWith(`${FILE}: invalid scenario`));
  t.is(err.name, 'ScenarioError');
  t.is(err.file, FILE);
});

test('wrong type: sidecar: "yes" expects a boolean', (t) => {
  const text = yaml({ workloads: 'workloads:\n  - name: sleep\n    ip: 10.64.192.14\n    sidecar: "yes"' });
  assertIssue(t, fails(t, text), 'workloads[0].sidecar', lineOf(text, 'sidecar:'), /expected boolean/);
});

test('port out of range: 70000 expects a port from 1 to 65535', (t) => {
  const text = yaml({ probes: 'probes:\n  - name: p\n    from: sleep\n    tcp:\n      host: 10.0.0.6\n      port: 70000\n    expect: {}' });
  assertIssue(t, fails(t, text), 'probes[0].tcp.port', lineOf(text, 'port: 70000'), 'expected a port from 1 to 65535');
});

test('port 0 in a Service is out of range too', (t) => {
  const text = yaml({ mesh: 'mesh:\n  services:\n    - name: s\n      clusterIP: 10.233.0.1\n      ports:\n        - port: 0' });
  assertIssue(t, fails(t, text), 'mesh.services[0].ports[0].port', lineOf(text, 'port: 0'), 'expected a port from 1 to 65535');
});

test('duplicate probe names: the second is reported and points at the first', (t) => {
  const probe = (host: string) => `  - name: same\n    from: sleep\n    tcp: { host: ${host}, port: 7000 }\n    expect: {}`;
  const text = yaml({ probes: `probes:\n${probe('10.0.0.6')}\n${probe('10.0.0.7')}` });
  assertIssue(t, fails(t, text), 'probes[1].name', lineOf(text, 'name: same', 1), 'duplicate probe name "same" (also at probes[0])');
});

test('duplicate workload names are reported', (t) => {
  const text = yaml({ workloads: 'workloads:\n  - name: sleep\n    ip: 10.64.192.14\n  - name: sleep\n    ip: 10.64.192.15' });
  assertIssue(
    t,
    fails(t, text),
    'workloads[1].name',
    lineOf(text, 'name: sleep', 1),
    'duplicate workload name "sleep" (also at workloads[0])',
  );
});

test('duplicate pod IPs are reported', (t) => {
  const text = yaml({ workloads: 'workloads:\n  - name: a\n    ip: 10.64.192.14\n  - name: sleep\n    ip: 10.64.192.14' });
  t.regex(fails(t, text).message, /workloads\[1\]\.name: duplicate pod IP "10\.64\.192\.14"/);
});

test('bad CIDR in lab.podCIDR expects an IPv4 CIDR', (t) => {
  for (const bad of ['10.64.192.0/33', '10.64.192.0', '10.64.192/24', 'ten/8']) {
    const text = yaml({ lab: `lab:\n  podCIDR: ${bad}` });
    assertIssue(t, fails(t, text), 'lab.podCIDR', lineOf(text, 'podCIDR'), 'expected an IPv4 CIDR like 10.0.0.0/24');
  }
});

test('a workload outside lab.podCIDR is reported', (t) => {
  const text = yaml({ workloads: 'workloads:\n  - name: sleep\n    ip: 10.65.0.4' });
  assertIssue(
    t,
    fails(t, text),
    'workloads[0].ip',
    lineOf(text, 'ip: 10.65.0.4'),
    'expected an address inside lab.podCIDR 10.64.192.0/24, got 10.65.0.4',
  );
});

// Annotation CIDRs are checked at load, with the annotation's own line.
test('bad CIDR in the excludeOutboundIPRanges annotation is rejected at load', (t) => {
  const text = yaml({
    workloads:
      'workloads:\n  - name: sleep\n    ip: 10.64.192.14\n    annotations:\n      traffic.sidecar.istio.io/excludeOutboundIPRanges: "10.0.0.0/24,foo"',
  });
  const err = t.throws(() => parseScenario(text, FILE), { instanceOf: ScenarioError });
  t.regex(
    err.message,
    /workloads\[0\]\.annotations\.traffic\.sidecar\.istio\.io\/excludeOutboundIPRanges: expected a comma list of IPv4 CIDRs/,
  );
  t.regex(err.message, /"foo"/);
  t.true(err.issues.every((i) => i.line === lineOf(text, 'excludeOutboundIPRanges')));
});

test('an annotation issue carries the line of the annotation', (t) => {
  const text = yaml({
    workloads:
      'workloads:\n  - name: sleep\n    ip: 10.64.192.14\n    annotations:\n      traffic.sidecar.istio.io/excludeOutboundIPRanges: "foo"',
  });
  const err = t.throws(() => parseScenario(text, FILE), { instanceOf: ScenarioError });
  t.is(err.issues[0]?.line, lineOf(text, 'excludeOutboundIPRanges'));
});

test('the annotation CIDR check rejects an out-of-range prefix length and octet', (t) => {
  for (const bad of ['10.0.0.0/33', '300.0.0.0/8']) {
    const text = yaml({
      workloads: `workloads:\n  - name: sleep\n    ip: 10.64.192.14\n    annotations:\n      traffic.sidecar.istio.io/excludeOutboundIPRanges: "${bad}"`,
    });
    t.throws(() => parseScenario(text, FILE), { instanceOf: ScenarioError }, bad);
  }
});

test('unknown Istio version "1.12": the message lists the supported ranges', (t) => {
  const text = yaml({ head: 'name: inline\ndescription: d\nistio: "1.12"' });
  const err = fails(t, text);
  assertIssue(t, err, 'istio', lineOf(text, 'istio:'), 'Istio 1.12 is not modelled; supported: 1.4-1.6 and 1.25-1.31');
});

test('istio written as a YAML number (1.30 → 1.3) is a type error, not a silent 1.3', (t) => {
  const text = yaml({ head: 'name: inline\ndescription: d\nistio: 1.30' });
  assertIssue(t, fails(t, text), 'istio', lineOf(text, 'istio:'), /expected string/);
});

test('probe "from" naming a missing workload lists the workloads', (t) => {
  const text = yaml({ probes: 'probes:\n  - name: p\n    from: ghost\n    tcp: { host: 10.0.0.6, port: 7000 }\n    expect: {}' });
  assertIssue(t, fails(t, text), 'probes[0].from', lineOf(text, 'from: ghost'), 'expected one of the workloads (sleep), got "ghost"');
});

test('a probe with both tcp and redis needs exactly one of them', (t) => {
  const text = yaml({
    probes:
      'probes:\n  - name: p\n    from: sleep\n    tcp: { host: 10.0.0.6, port: 7000 }\n    redis: { host: 10.0.0.6, port: 7000 }\n    expect: {}',
  });
  assertIssue(t, fails(t, text), 'probes[0]', lineOf(text, '- name: p'), 'a probe needs exactly one of tcp, redis, http, mysql');
});

test('a probe with neither tcp nor redis is rejected the same way', (t) => {
  const text = yaml({ probes: 'probes:\n  - name: p\n    from: sleep\n    expect: {}' });
  t.regex(fails(t, text).message, /probes\[0\]: a probe needs exactly one of tcp, redis, http, mysql/);
});

test('Endpoints without a Service are reported', (t) => {
  const text = yaml({
    mesh: 'mesh:\n  endpoints:\n    - name: orphan\n      namespace: dev\n      addresses: [10.0.0.6]\n      ports: [{ port: 7000 }]',
  });
  assertIssue(
    t,
    fails(t, text),
    'mesh.endpoints[0].name',
    lineOf(text, 'name: orphan'),
    'expected a Service dev/orphan for these Endpoints',
  );
});

test('Endpoints match their Service by namespace too', (t) => {
  const text = yaml({
    mesh:
      'mesh:\n  services:\n    - { name: db, namespace: a, clusterIP: 10.233.0.1, ports: [{ port: 7000 }] }\n' +
      '  endpoints:\n    - { name: db, namespace: b, addresses: [10.0.0.6], ports: [{ port: 7000 }] }',
  });
  t.regex(fails(t, text).message, /mesh\.endpoints\[0\]\.name: expected a Service b\/db/);
});

test('invalid YAML is reported as a YAML ScenarioError naming the file, before any schema check', (t) => {
  const text = 'name: inline\ndescription: d\nistio: "1.30\n';
  const err = fails(t, text);
  t.true(err.message.startsWith(`${FILE}: invalid scenario`));
  t.deepEqual(
    err.issues.map((i) => [i.path, i.message]),
    [['', 'YAML: Missing closing "quote']],
  );
  t.true(err.message.includes('(top level): YAML: Missing closing "quote'));
});

test('duplicate YAML keys are a YAML error', (t) => {
  const err = fails(t, yaml().replace('description: unit test', 'description: unit test\ndescription: again'));
  t.regex(err.message, /YAML: Map keys must be unique/);
});

// Regression (was a bug in harness/scenario/load.ts parseScenario): YAML syntax errors never carry a line. The document
// is parsed with `prettyErrors: false`, and with that option the yaml library does not fill
// YAMLError.linePos, so `e.linePos?.[0]?.line` is always undefined and the message reads
// "inline.yaml: (top level): YAML: …" with no ":<line>". Using `lines.linePos(e.pos[0])` (the
// LineCounter is already there) would give it.
test('invalid YAML is reported with the line of the error', (t) => {
  const text = 'name: inline\ndescription: d\nworkloads:\n\t- name: sleep\n';
  const err = fails(t, text);
  t.true(err.issues.length > 0);
  t.true(
    err.issues.every((i) => typeof i.line === 'number' && i.line > 0),
    JSON.stringify(err.issues),
  );
  t.regex(err.message, new RegExp(`${FILE}:\\d+: \\(top level\\): YAML: `));
});

test('several problems are reported together', (t) => {
  const text = yaml({
    head: 'name: inline\ndescription: d\nistio: "1.12"',
    probes: 'probes:\n  - name: p\n    from: ghost\n    tcp: { host: 10.0.0.6, port: 7000 }\n    expect: {}',
  });
  const err = fails(t, text);
  t.deepEqual(err.issues.map((i) => i.path).sort(), ['istio', 'probes[0].from']);
});

test('a stats expectation must be "+N", ">=N" or a number', (t) => {
  const text = yaml({
    probes: 'probes:\n  - name: p\n    from: sleep\n    tcp: { host: 10.0.0.6, port: 7000 }\n    expect:\n      stats:\n        a.b: "-1"',
  });
  t.regex(fails(t, text).message, /probes\[0\]\.expect\.stats\.a\.b: expected "\+N", ">=N" or a number/);
});

test('a client expectation of another kind is refused on its own line: status on a tcp probe', (t) => {
  const probes =
    'probes:\n  - name: p\n    from: sleep\n    tcp: { host: 10.0.0.6, port: 7000 }\n    expect:\n      client:\n        connect: ok\n        status: 200';
  const text = yaml({ probes });
  assertIssue(
    t,
    fails(t, text),
    'probes[0].expect.client.status',
    lineOf(text, 'status: 200'),
    'a tcp probe cannot check status; its client expectations are connect, end, durationMs, errorClass, received, receivedContains, bytes',
  );
});

test('an error class that no kind has is a load error naming the classes', (t) => {
  const probes =
    'probes:\n  - name: p\n    from: sleep\n    tcp: { host: 10.0.0.6, port: 7000 }\n    expect:\n      client:\n        errorClass: refsued';
  const text = yaml({ probes });
  assertIssue(
    t,
    fails(t, text),
    'probes[0].expect.client.errorClass',
    lineOf(text, 'refsued'),
    /expected an error class: none, refused, .*curl-<N>/,
  );
});

test("an error class of another kind is refused, each in a list on its own line: curl-52 is http's, not redis'", (t) => {
  const probes =
    'probes:\n  - name: p\n    from: sleep\n    redis: { host: 10.0.0.6, port: 7000, command: [PING] }\n    expect:\n      client:\n        errorClass:\n          - reset\n          - curl-52';
  const text = yaml({ probes });
  assertIssue(
    t,
    fails(t, text),
    'probes[0].expect.client.errorClass[1]',
    lineOf(text, 'curl-52'),
    'a redis probe has no error class "curl-52"; expected one of none, refused',
  );
});

test('http error classes are curl-<N> for any exit code', (t) => {
  const probes =
    'probes:\n  - name: p\n    from: sleep\n    http: { url: "http://10.0.0.6/" }\n    expect:\n      client: { errorClass: [curl-52, curl-56] }';
  t.notThrows(() => parseScenario(yaml({ probes }), FILE));
  const bad = yaml({ probes: probes.replace('curl-56', 'curl-x') });
  t.regex(fails(t, bad).message, /errorClass\[1\]: expected an error class/);
});

test('expect.model, the old name of expect.path, is read as path and named where to rename it', (t) => {
  const text = readFileSync(join(SCENARIO_DIR, 'redis-7000-modern.yaml'), 'utf8');
  const old = text.replace(/^(\s+)path: \{/m, '$1model: {').replace(/basis: observed/, 'basis: { client: observed, model: reasoned }');
  t.not(old, text);
  const fresh = parseScenario(text, FILE);
  const loaded = parseScenario(old, FILE);
  t.deepEqual(loaded.scenario.probes[0]!.expect.path, fresh.scenario.probes[0]!.expect.path);
  t.deepEqual(fresh.deprecations, []);
  t.is(loaded.deprecations.length, 2, loaded.deprecations.join('\n'));
  t.regex(loaded.deprecations[0]!, /^inline\.yaml:\d+: probes\[0\]\.expect\.model is now expect\.path/);
  const both = old.replace(/^(\s+)model: \{/m, '$1path: { listener: x }\n$1model: {');
  const err = t.throws(() => parseScenario(both, FILE), { instanceOf: ScenarioError });
  t.regex(err.message, /expect\.model is the old name of expect\.path: give only path/);
  t.regex(loaded.deprecations[1]!, /probes\[0\]\.expect\.basis\.model is now basis\.path/);
  t.deepEqual(loaded.scenario.probes[0]!.expect.basis, { client: 'observed', path: 'reasoned' }, 'basis.model is read as basis.path');
});

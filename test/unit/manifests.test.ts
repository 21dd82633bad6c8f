/**
 * Manifest files beside a scenario (harness/scenario/manifests.ts): relative to the scenario, kept
 * under its directory (symlinks included), regular files of bounded size and no NUL bytes, every
 * document checked as an object envelope and named by file, line and field.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeSource, MAX_MANIFEST_BYTES, readManifests, withDefaultNamespace } from '../../harness/scenario/manifests.ts';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'egress-lab-manifests-')));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** A fresh scenario directory with these files; returns the scenario file's path (the scenario file itself is not read). */
function scenarioDir(files: Record<string, string | Buffer>): { dir: string; scenario: string } {
  const dir = mkdtempSync(join(root, 's-'));
  for (const [name, body] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, body);
  }
  const scenario = join(dir, 'scenario.yaml');
  writeFileSync(scenario, 'name: x\n');
  return { dir, scenario };
}

const SERVICE = (name: string, ns?: string) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ''}spec:\n  clusterIP: 10.96.0.20\n`;

test('readManifests: every document of a multi-document file, with its file, line and document number', (t) => {
  const text = `${SERVICE('a', 'demo')}---\n${SERVICE('b')}---\n# a comment line\napiVersion: v1\nkind: Namespace\nmetadata: { name: demo }\n`;
  const { dir, scenario } = scenarioDir({ 'db.yaml': text });
  const r = readManifests(scenario, ['db.yaml']);
  t.deepEqual(r.issues, []);
  t.deepEqual(
    r.objects.map((o) => [o.kind, o.metadata.namespace, o.metadata.name]),
    [
      ['Service', 'demo', 'a'],
      ['Service', 'default', 'b'],
      ['Namespace', undefined, 'demo'],
    ],
  );
  t.deepEqual(r.sources, [
    { field: 'manifests[0]', file: join(dir, 'db.yaml'), line: 1, document: { path: 'db.yaml', index: 1 } },
    { field: 'manifests[0]', file: join(dir, 'db.yaml'), line: 9, document: { path: 'db.yaml', index: 2 } },
    { field: 'manifests[0]', file: join(dir, 'db.yaml'), line: 17, document: { path: 'db.yaml', index: 3 } },
  ]);
  // The objects are otherwise as written (spec kept).
  t.deepEqual(r.objects[0]!.spec, { clusterIP: '10.96.0.20' });
});

test('readManifests: empty documents (a leading or trailing ---, comments only) are skipped but still counted', (t) => {
  const { scenario } = scenarioDir({ 'm.yaml': `---\n# nothing here\n---\n${SERVICE('a')}---\n` });
  const r = readManifests(scenario, ['m.yaml']);
  t.deepEqual(r.issues, []);
  t.is(r.objects.length, 1);
  t.deepEqual(r.sources[0]!.document, { path: 'm.yaml', index: 2 });
  t.is(r.sources[0]!.line, 4);
});

test('readManifests: several files, each its own manifests[n]; a subdirectory and a ".." that stays inside are fine', (t) => {
  const { dir, scenario } = scenarioDir({ 'a.yaml': SERVICE('a'), 'sub/b.yaml': SERVICE('b') });
  const r = readManifests(scenario, ['a.yaml', 'sub/../sub/b.yaml', './a.yaml']);
  t.deepEqual(r.issues, []);
  t.deepEqual(
    r.sources.map((s) => [s.field, s.file, s.document?.path]),
    [
      ['manifests[0]', join(dir, 'a.yaml'), 'a.yaml'],
      ['manifests[1]', join(dir, 'sub/b.yaml'), 'sub/../sub/b.yaml'],
      ['manifests[2]', join(dir, 'a.yaml'), './a.yaml'],
    ],
  );
});

test('readManifests: paths are relative to the scenario file, not to the working directory', (t) => {
  const { scenario } = scenarioDir({ 'only-here.yaml': SERVICE('a') });
  const cwd = process.cwd();
  t.not(cwd, join(scenario, '..'));
  t.deepEqual(readManifests(scenario, ['only-here.yaml']).issues, []);
});

test('readManifests: an absolute path is refused, reported on the scenario file', (t) => {
  const { dir, scenario } = scenarioDir({ 'a.yaml': SERVICE('a') });
  const r = readManifests(scenario, [join(dir, 'a.yaml')]);
  t.deepEqual(r.objects, []);
  t.deepEqual(r.issues, [
    {
      field: 'manifests[0]',
      file: scenario,
      message: `expected a path relative to the scenario's directory, got the absolute path "${join(dir, 'a.yaml')}"`,
    },
  ]);
});

test('readManifests: a missing file is refused with the path it looked for', (t) => {
  const { dir, scenario } = scenarioDir({});
  const r = readManifests(scenario, ['nope.yaml']);
  t.deepEqual(r.issues, [{ field: 'manifests[0]', file: scenario, message: `no such file: ${join(dir, 'nope.yaml')}` }]);
});

test("readManifests: a path out of the scenario's directory is refused, even to an existing file", (t) => {
  const { dir, scenario } = scenarioDir({});
  writeFileSync(join(root, 'outside.yaml'), SERVICE('a'));
  const r = readManifests(scenario, ['../outside.yaml']);
  t.deepEqual(r.objects, []);
  t.deepEqual(r.issues, [
    { field: 'manifests[0]', file: scenario, message: `"../outside.yaml" leads outside the scenario's directory ${dir}` },
  ]);
});

test("readManifests: a symlink that leads out of the scenario's directory is refused; one that stays inside is read", (t) => {
  const { dir, scenario } = scenarioDir({ 'real/in.yaml': SERVICE('inside') });
  writeFileSync(join(root, 'secret.yaml'), SERVICE('outside'));
  symlinkSync(join(root, 'secret.yaml'), join(dir, 'out.yaml'));
  symlinkSync(join(dir, 'real/in.yaml'), join(dir, 'in.yaml'));
  mkdirSync(join(dir, 'sub'));
  symlinkSync(root, join(dir, 'sub/up'));
  const r = readManifests(scenario, ['out.yaml', 'in.yaml', 'sub/up/secret.yaml']);
  t.deepEqual(
    r.objects.map((o) => o.metadata.name),
    ['inside'],
  );
  t.deepEqual(r.sources[0]!.field, 'manifests[1]');
  // The file named is where the object really is.
  t.is(r.sources[0]!.file, join(dir, 'real/in.yaml'));
  t.deepEqual(
    r.issues.map((i) => [i.field, i.message]),
    [
      ['manifests[0]', `"out.yaml" leads outside the scenario's directory ${dir}`],
      ['manifests[2]', `"sub/up/secret.yaml" leads outside the scenario's directory ${dir}`],
    ],
  );
});

test('readManifests: a scenario directory reached through a symlink still reads its own manifests', (t) => {
  const { dir } = scenarioDir({ 'a.yaml': SERVICE('a') });
  const link = join(root, `link-${Date.now()}`);
  symlinkSync(dir, link);
  const r = readManifests(join(link, 'scenario.yaml'), ['a.yaml']);
  t.deepEqual(r.issues, []);
  t.deepEqual(
    r.objects.map((o) => o.metadata.name),
    ['a'],
  );
});

test('readManifests: a directory is not a regular file', (t) => {
  const { scenario } = scenarioDir({ 'dir/a.yaml': SERVICE('a') });
  const r = readManifests(scenario, ['dir', '.']);
  t.deepEqual(
    r.issues.map((i) => [i.field, i.message]),
    [
      ['manifests[0]', '"dir" is not a regular file'],
      ['manifests[1]', '"." is not a regular file'],
    ],
  );
});

test('readManifests: at most MAX_MANIFEST_BYTES; one byte more is refused with the size', (t) => {
  t.is(MAX_MANIFEST_BYTES, 1024 * 1024);
  // A comment padded to the size: a valid (empty) YAML file.
  const exact = `#${'x'.repeat(MAX_MANIFEST_BYTES - 2)}\n`;
  const { scenario } = scenarioDir({ 'exact.yaml': exact, 'big.yaml': `${exact} ` });
  const r = readManifests(scenario, ['exact.yaml', 'big.yaml']);
  t.deepEqual(r.issues, [
    {
      field: 'manifests[1]',
      file: scenario,
      message: `"big.yaml" is ${MAX_MANIFEST_BYTES + 1} bytes; a manifest may be at most ${MAX_MANIFEST_BYTES}`,
    },
  ]);
});

test('readManifests: a file with NUL bytes is refused as binary, naming the manifest file', (t) => {
  const { dir, scenario } = scenarioDir({ 'bin.yaml': Buffer.from([0x61, 0x3a, 0x20, 0x00, 0x0a]) });
  const r = readManifests(scenario, ['bin.yaml']);
  t.deepEqual(r.objects, []);
  t.deepEqual(r.issues, [
    { field: 'manifests[0]', file: join(dir, 'bin.yaml'), message: 'is binary (it contains NUL bytes); expected YAML' },
  ]);
});

test('readManifests: the envelope is checked per document: the document, its line and the field are named', (t) => {
  const text = `${SERVICE('ok')}---\nkind: Service\nmetadata:\n  name: Bad_Name\n---\n- just\n- a list\n---\napiVersion: v1\nkind: Service\nmetadata: { name: x, namespace: Not.A.Label }\n`;
  const { dir, scenario } = scenarioDir({ 'm.yaml': text });
  const r = readManifests(scenario, ['m.yaml']);
  t.deepEqual(
    r.objects.map((o) => o.metadata.name),
    ['ok'],
  );
  const file = join(dir, 'm.yaml');
  t.true(
    r.issues.every((i) => i.field === 'manifests[0]' && i.file === file),
    JSON.stringify(r.issues),
  );
  const at = (line: number) => r.issues.filter((i) => i.line === line).map((i) => i.message);
  // Each document's issues are on the line where that document starts (8, 12, 15).
  t.is(r.issues.length, 4, JSON.stringify(r.issues));
  t.is(at(8).length, 2, JSON.stringify(r.issues));
  t.true(
    at(8).some((m) => /^document 2: apiVersion: /.test(m)),
    JSON.stringify(at(8)),
  );
  t.true(at(8).includes('document 2: metadata.name: expected a lowercase DNS name (a-z, 0-9, - and .)'), JSON.stringify(at(8)));
  t.is(at(12).length, 1);
  t.regex(at(12)[0]!, /^document 3: \(object\): /);
  t.is(at(15).length, 1);
  t.regex(at(15)[0]!, /^document 4: metadata\.namespace: expected a lowercase DNS label/);
});

test('readManifests: a YAML error stops that document only, and names the manifest file', (t) => {
  const text = `${SERVICE('a')}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n  labels: [1, 2\nspec: {}\n---\n${SERVICE('c')}`;
  const { dir, scenario } = scenarioDir({ 'm.yaml': text });
  const r = readManifests(scenario, ['m.yaml']);
  t.deepEqual(
    r.objects.map((o) => o.metadata.name),
    ['a', 'c'],
  );
  t.deepEqual(
    r.sources.map((s) => s.document?.index),
    [1, 3],
  );
  t.is(r.issues.length, 1);
  t.like(r.issues[0], { field: 'manifests[0]', file: join(dir, 'm.yaml') });
  t.regex(r.issues[0]!.message, /^YAML: /);
  t.is(typeof r.issues[0]!.line, 'number', JSON.stringify(r.issues[0]));
});

// Regression test, found and fixed with these tests (harness/scenario/manifests.ts readManifests, the `line` of a document): a YAML error is reported
// at the line where its document's content starts, not where the error is (the scenario loader
// reports its own YAML errors at the error's line, scenario/load.ts yamlErrorLine). In a long
// document the line points far from the mistake. Fix: for doc.errors, use
// lines.linePos(doc.errors[0].pos[0]).line (and yamlErrorLine's handling of unclosed flow
// collections) instead of the document's first line.
test('readManifests: a YAML error names the line of the error, not the first line of its document', (t) => {
  const text = `${SERVICE('a')}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n  labels: { a: "1" }\n  annotations: a: b\nspec: {}\n`;
  const { scenario } = scenarioDir({ 'm.yaml': text });
  const r = readManifests(scenario, ['m.yaml']);
  t.is(r.issues.length, 1, JSON.stringify(r.issues));
  // Line 13: "  annotations: a: b"; the document starts on line 8.
  t.is(r.issues[0]!.line, 13, JSON.stringify(r.issues));
});

test('readManifests: an alias bomb is an issue, not a crash or a hang', (t) => {
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++)
    levels.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(',')}]`,
    );
  const { scenario } = scenarioDir({
    'bomb.yaml': `apiVersion: v1\nkind: Secret\nmetadata: { name: s }\ndata:\n  ${levels.join('\n  ')}\n`,
  });
  const r = readManifests(scenario, ['bomb.yaml']);
  t.deepEqual(r.objects, []);
  t.is(r.issues.length, 1);
  t.regex(r.issues[0]!.message, /^YAML: .*alias/i);
});

test('readManifests: a bad manifest does not hide the good ones after it', (t) => {
  const { scenario } = scenarioDir({ 'good.yaml': SERVICE('good') });
  const r = readManifests(scenario, ['/abs.yaml', 'missing.yaml', 'good.yaml']);
  t.deepEqual(
    r.issues.map((i) => i.field),
    ['manifests[0]', 'manifests[1]'],
  );
  t.deepEqual(
    r.sources.map((s) => s.field),
    ['manifests[2]'],
  );
});

test("withDefaultNamespace: kubectl's default for namespaced kinds only, and a given namespace is kept", (t) => {
  const o = (kind: string, namespace?: string) => ({
    apiVersion: 'v1',
    kind,
    metadata: { name: 'x', ...(namespace !== undefined ? { namespace } : {}) },
  });
  t.is(withDefaultNamespace(o('Service')).metadata.namespace, 'default');
  t.is(withDefaultNamespace(o('Service', 'demo')).metadata.namespace, 'demo');
  t.is(withDefaultNamespace(o('Namespace')).metadata.namespace, undefined);
  t.is(withDefaultNamespace(o('GatewayClass')).metadata.namespace, undefined);
  // Not changed in place.
  const given = o('Secret');
  withDefaultNamespace(given);
  t.is(given.metadata.namespace, undefined);
});

test('describeSource: an inline object by its field, a manifest document by file and number', (t) => {
  t.is(describeSource({ file: 's.yaml', line: 3, field: 'objects[2]' }), 'objects[2]');
  t.is(
    describeSource({ file: '/x/db.yaml', line: 9, field: 'manifests[0]', document: { path: 'db.yaml', index: 3 } }),
    'manifests[0] (db.yaml, document 3)',
  );
});

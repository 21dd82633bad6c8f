/**
 * The gates `npm run lint` runs can fail: prettier checks every TS/JS file the project owns and
 * refuses a misformatted one, ESLint's type-checked rules refuse unsafe code, and
 * scripts/check-go.sh refuses Go that gofmt or go vet would. (The layers gate is proved in
 * test/unit/layers.test.ts.)
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import * as prettier from 'prettier';

const REPO = resolve(import.meta.dirname, '../..');

test('prettier checks every TS/JS file git tracks, and refuses a misformatted one', async (t) => {
  const owned = execFileSync('git', ['ls-files', '*.ts', '*.js'], { cwd: REPO, encoding: 'utf8' }).split('\n').filter(Boolean);
  t.true(owned.length > 150, `git ls-files found ${owned.length} files`);
  const ignorePath = join(REPO, '.prettierignore');
  const ignored = [];
  for (const f of owned) if ((await prettier.getFileInfo(join(REPO, f), { ignorePath })).ignored) ignored.push(f);
  t.deepEqual(
    ignored.filter((f) => !f.startsWith('test/fixtures/')),
    [],
  );
  const file = join(REPO, 'harness/core/net.ts');
  const options = { ...(await prettier.resolveConfig(file)), filepath: file };
  t.false(await prettier.check('export const x = {a:1,\n b:2}\n', options), 'a misformatted file fails the check');
  t.true(await prettier.check(await prettier.format('export const x = { a: 1, b: 2 };\n', options), options));
});

test("ESLint's type-checked rules refuse unsafe code in a harness module", async (t) => {
  const eslint = new ESLint({ cwd: REPO });
  const bad = "export async function f(): Promise<void> {}\nvoid 0;\nf();\nexport const y = JSON.parse('{}').field;\n";
  const [result] = await eslint.lintText(bad, { filePath: join(REPO, 'harness/core/net.ts') });
  const rules = new Set(result!.messages.map((m) => m.ruleId));
  t.true(rules.has('@typescript-eslint/no-floating-promises'), [...rules].join(', '));
  t.true(rules.has('@typescript-eslint/no-unsafe-member-access'), [...rules].join(', '));
});

const hasGo = spawnSync('go', ['version']).status === 0;
(hasGo ? test : test.skip)('scripts/check-go.sh fails on misformatted Go and on a go vet finding', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egress-lab-gogate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const check = (copy: string) => spawnSync('bash', [join(REPO, 'scripts/check-go.sh'), copy], { encoding: 'utf8', timeout: 300_000 });
  for (const [name, source] of [
    ['gofmt', 'package main\nfunc   unformatted( ) {}\n'],
    ['vet', 'package main\n\nimport "fmt"\n\nfunc vetFinding() { fmt.Printf("%d\\n", "text") }\n'],
  ] as const) {
    const copy = join(dir, name);
    cpSync(join(REPO, 'istio'), copy, { recursive: true });
    writeFileSync(join(copy, 'cmd/lab-istiod', `gate_${name}.go`), source);
    const r = check(copy);
    t.not(r.status, 0, `${name}: check-go.sh passed a bad file\n${r.stdout}${r.stderr}`);
    t.regex(r.stdout + r.stderr, name === 'vet' ? /gate_vet\.go:\d+:\d+: fmt\.Printf format %d has arg "text"/ : /gate_gofmt\.go/, name);
  }
});

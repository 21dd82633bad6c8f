/**
 * Nightly-grade runs: the suite's reports (JUnit, JSON, timings, HTML) with a failing scenario
 * first, and Ctrl-C in the middle of a suite still leaving a JUnit file and nothing else behind.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { loadScenarioFile } from '../../harness/scenario/load.ts';
import { runSuite } from '../../harness/run/suite.ts';
import { QuietReporter } from '../../harness/report/console.ts';
import type { SuiteTimings } from '../../harness/report/files.ts';
import type { SuiteResult } from '../../harness/report/suiteResult.ts';
import { diffRootState, rootState } from '../../harness/lab/rootState.ts';
import { isRoot, leftoverNamespaces, runsDir, SKIP_REASON } from '../helpers/lab.ts';

const REPO = resolve(import.meta.dirname, '../..');
const serial = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.log(SKIP_REASON);

/** A junit.xml as fast-xml-parser reads it (attributes as `@_name`; one child an object, several an array). */
interface JunitCase {
  '@_name': string;
  failure?: unknown;
  error?: unknown;
  skipped?: unknown;
}
interface JunitSuite {
  '@_name': string;
  testcase: JunitCase | JunitCase[];
}
interface Junit {
  testsuites: { testsuite: JunitSuite | JunitSuite[] };
}

function reportDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'egress-lab-reports-'));
  chmodSync(dir, 0o755);
  return dir;
}

serial('a suite with a failing scenario writes JUnit, JSON, timings and HTML, failures first', async (t) => {
  const dir = reportDir();
  const lines: string[] = [];
  const result = await runSuite(
    {
      scenarios: [loadScenarioFile('redis-7000-registry-only'), loadScenarioFile('test/fixtures/redis-7000-wrong-expectation.yaml')],
      selection: ['redis-7000-registry-only', 'fixture'],
      cleanup: 'always',
      repeat: 1,
      untilFail: false,
      runDir: runsDir,
      reportDir: dir,
      reporter: new QuietReporter((l) => lines.push(l)),
    },
    {},
  );
  t.deepEqual(
    result.runs.map((r) => r.status),
    ['passed', 'failed'],
  );
  // Quiet on success (one line), everything on failure.
  t.regex(lines.join('\n'), /✔ redis-7000-registry-only \[envoy\] +5 probes/);
  t.regex(lines.join('\n'), /✘ client received: expected "-NOAUTH/);
  const junit = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(join(dir, 'junit.xml'), 'utf8')) as Junit;
  const suites = [junit.testsuites.testsuite].flat();
  t.is(suites[0]!['@_name'], 'redis-7000-wrong-expectation');
  const failing = [suites[0]!.testcase].flat().find((c: { failure?: unknown }) => c.failure);
  t.regex(JSON.stringify(failing!.failure), /expected.*-NOAUTH.*saw.*HTTP\/1\.1 400/);
  t.regex(JSON.stringify(failing!.failure), /conntrack/);
  // In the summary table (after the header, which lists the selection), the failure comes first.
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  const table = html.slice(html.indexOf('<table'));
  t.true(table.indexOf('redis-7000-wrong-expectation') < table.indexOf('redis-7000-registry-only'));
  t.regex(html, /<svg/);
  const json = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as SuiteResult;
  t.is(json.runs.length, 2);
  const timings = JSON.parse(readFileSync(join(dir, 'timings.json'), 'utf8')) as SuiteTimings;
  t.truthy(JSON.stringify(timings).includes('redis-7000-registry-only'));
});

serial('Ctrl-C in the middle of a suite leaves a JUnit file, a clear message and nothing else', async (t) => {
  const before = await rootState();
  const dir = reportDir();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'harness/cli.ts',
      'scenarios',
      'redis-7000',
      'redis-7000-modern',
      '--verbose',
      '--jobs',
      '1',
      '--report-dir',
      dir,
      '--run-dir',
      runsDir,
    ],
    { cwd: REPO },
  );
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((r) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('probe nc-7001')) r();
    });
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  });
  child.kill('SIGINT');
  t.is(await exited, 130, out);
  t.regex(out, /interrupted \(SIGINT\); removing the lab and writing the reports/);
  t.regex(out, /nothing is left behind; partial reports are in/);
  t.true(existsSync(join(dir, 'junit.xml')));
  const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
  t.regex(junit, /redis-7000-modern/);
  t.regex(junit, /<skipped/);
  // The probe in flight has no verdict: skipped as interrupted, not a failure or an error; no
  // teardown noise (the admin API going away) is reported as the scenario's error.
  const interrupted = new XMLParser({ ignoreAttributes: false }).parse(junit) as Junit;
  // The catalog's order runs redis-7000-modern first: it is the one the Ctrl-C hits.
  const hit = [interrupted.testsuites.testsuite].flat().find((x: { '@_name': string }) => x['@_name'] === 'redis-7000-modern');
  const cases = [hit!.testcase].flat();
  t.false(
    cases.some((c: { failure?: unknown; error?: unknown }) => c.failure || c.error),
    JSON.stringify(cases),
  );
  t.true(
    cases.some((c: { '@_name': string; skipped?: unknown }) => c.skipped && c['@_name'] !== 'setup'),
    JSON.stringify(cases),
  );
  t.regex(out, /⏹ probe \S+ from sleep: .*: interrupted, no verdict/);
  t.regex(out, /INTERRUPTED redis-7000-modern:/);
  t.notRegex(out, /ECONNREFUSED/);
  const prefixes = [...out.matchAll(/lab (egl-[0-9a-f]{6}): creating/g)].map((m) => m[1]!);
  t.true(prefixes.length > 0, out);
  t.deepEqual(
    prefixes.flatMap((p) => leftoverNamespaces(`${p}-`)),
    [],
  );
  t.deepEqual(diffRootState(before, await rootState()), []);
});

serial(
  '--sidecar both runs a current-Istio scenario on real Envoy and on the model and prints where they differ; the seed era runs on the model and says why',
  (t) => {
    const dir = reportDir();
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'harness/cli.ts',
        'scenarios',
        'redis-7000-modern',
        'redis-7000-registry-only',
        'redis-7000',
        '--sidecar',
        'both',
        '--report-dir',
        dir,
        '--run-dir',
        runsDir,
      ],
      { cwd: REPO, encoding: 'utf8' },
    );
    const out = r.stdout + r.stderr;
    t.is(r.status, 0, out);
    // The model is held to real Istio: on these scenarios it must agree probe by probe.
    t.regex(out, /real Envoy versus the model, redis-7000-modern:\n= nc-7000: agree/);
    t.regex(out, /model and envoy agree on all 3 probe\(s\)/);
    t.regex(out, /model and envoy agree on all 5 probe\(s\)/);
    t.regex(out, /redis-7000 +netns\/model +PASSED/);
    t.notRegex(out, /redis-7000 +netns\/envoy/);
    const json = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as SuiteResult;
    const seed = json.runs.find((x: { scenario: string }) => x.scenario === 'redis-7000');
    t.regex(seed!.outcome!.fidelityNotes![0]!, /Istio 1\.4 is the seed era: no real part can run it/);
    // The labs of this run, by the prefix that ends each run directory.
    const runDirs = json.runs.map((x) => x.outcome?.runDir ?? '');
    const prefixes = runDirs.flatMap((d) => /egl-[0-9a-f]{6}$/.exec(d) ?? []);
    t.true(prefixes.length > 0, runDirs.join(', '));
    t.deepEqual(
      prefixes.flatMap((p) => leftoverNamespaces(`${p}-`)),
      [],
    );
  },
);
